package monitor

import (
	"testing"
)

func TestHubNeverBlocks(t *testing.T) {
	h := NewHub()
	stalled := h.Subscribe(2, nil)
	defer stalled.Close()
	boxes := h.Subscribe(4, func(e Event) bool { return e.Type == EventBoxes && e.Camera == "cam-1" })
	defer boxes.Close()
	for range 100 {
		h.Publish(Event{Type: EventAlert, ID: "a"})
	}
	if got := stalled.Lost(); got != 98 {
		t.Errorf("stalled subscriber lost %d events, want 98", got)
	}
	if got := boxes.Lost(); got != 0 {
		t.Errorf("filtered subscriber lost %d events it never wanted", got)
	}
	h.Publish(Event{Type: EventBoxes, Camera: "cam-2"})
	h.Publish(Event{Type: EventBoxes, Camera: "cam-1", ID: "mine"})
	if e := <-boxes.C(); e.ID != "mine" {
		t.Errorf("filtered subscriber got %+v", e)
	}
	lost := stalled.Lost()
	stalled.Close()
	stalled.Close()
	h.Publish(Event{Type: EventAlert})
	if got := stalled.Lost(); got != lost {
		t.Errorf("a closed subscription still counts events: %d", got)
	}
}
