package edge

import (
	"context"

	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/recognizer"
)

// A camera's region is the part of its picture that belongs to its zone,
// drawn by a supervisor on the camera's snapshot: a camera over a door
// also sees the corridor beyond it, and a face there is not in the zone.
// Faces whose centre lies outside the region are dropped before anything
// is embedded, tracked or reported. A camera without a region watches its
// whole picture.

// loadRegions refreshes the cameras' regions from the store.
func (d *Daemon) loadRegions(ctx context.Context) {
	cams, err := d.st.Cameras(ctx)
	if err != nil {
		d.log.Warn("camera regions could not be read; the previous ones stay in force", "err", err)
		return
	}
	m := map[string][]store.Point{}
	for _, c := range cams {
		if len(c.Region) >= 3 {
			m[c.ID] = c.Region
		}
	}
	d.regions.Store(&m)
}

// region is the camera's region, nil for the whole picture.
func (d *Daemon) region(cam string) []store.Point {
	if m := d.regions.Load(); m != nil {
		return (*m)[cam]
	}
	return nil
}

// inRegion reports whether the centre of box, in a w x h frame, lies
// inside the polygon poly (normalised coordinates); true without one.
func inRegion(poly []store.Point, box recognizer.Rect, w, h int) bool {
	if len(poly) < 3 || w <= 0 || h <= 0 {
		return true
	}
	c := box.Center()
	x, y := float64(c.X)/float64(w), float64(c.Y)/float64(h)
	in := false
	for i, j := 0, len(poly)-1; i < len(poly); j, i = i, i+1 {
		a, b := poly[i], poly[j]
		if (a.Y > y) != (b.Y > y) && x < (b.X-a.X)*(y-a.Y)/(b.Y-a.Y)+a.X {
			in = !in
		}
	}
	return in
}
