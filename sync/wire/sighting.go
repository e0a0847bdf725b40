package wire

import "time"

// Sighting is one track's identity decision on one camera: who (or an
// unknown face), when, how sure, and the best frame's face crop.
type Sighting struct {
	ID     ID     `json:"id"`
	Seq    uint64 `json:"seq"`
	Site   string `json:"site"`
	Camera string `json:"camera"`
	// Track is the tracker's ID, unique per camera while the daemon runs.
	Track uint64 `json:"track"`
	// Person is the enrolled person's ID, or empty for an unknown face.
	Person    string    `json:"person,omitempty"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// BestAt is the time of the frame the score and crop come from.
	BestAt time.Time `json:"best_at"`
	// Frames counts the frames with a usable face that the decision rests
	// on.
	Frames int `json:"frames"`
	// Score is the cosine similarity to the best candidate, in [-1, 1];
	// for an unknown face it is the best candidate that did not pass.
	Score float64 `json:"score"`
	// Margin is Score minus the best score of a different person, in
	// [0, 2]; with no runner-up the sender takes the runner-up's score as
	// -1.
	Margin float64 `json:"margin"`
	// Model names the embedding model and its version.
	Model string `json:"model"`
	// Quality is the best frame's face quality, in [0, 1].
	Quality float64 `json:"quality"`
	// Crop is an optional JPEG of the best face, at most MaxCropLen bytes;
	// base64 on the wire.
	Crop []byte `json:"crop,omitempty"`
}

// TopicKind implements Payload.
func (Sighting) TopicKind() Kind { return KindSighting }

// MarshalJSON writes the payload with its "v" field.
func (s Sighting) MarshalJSON() ([]byte, error) {
	type plain Sighting
	return withVersion(plain(s))
}

// Validate implements Payload.
func (s Sighting) Validate() error { return s.check(time.Time{}) }

func (s Sighting) check(now time.Time) error {
	c := checker{payload: "sighting", now: now}
	c.id("id", s.ID)
	c.seq("seq", s.Seq)
	c.segment("site", s.Site)
	c.segment("camera", s.Camera)
	if s.Track == 0 {
		c.fail("track", "missing (track IDs start at 1)")
	}
	c.token("person", s.Person, false, 128)
	c.time("first_seen", s.FirstSeen, true)
	c.time("last_seen", s.LastSeen, true)
	c.time("best_at", s.BestAt, true)
	c.order("first_seen", s.FirstSeen, "last_seen", s.LastSeen)
	c.order("first_seen", s.FirstSeen, "best_at", s.BestAt)
	c.order("best_at", s.BestAt, "last_seen", s.LastSeen)
	if s.Frames < 1 {
		c.fail("frames", "%d; a sighting rests on at least one frame", s.Frames)
	}
	c.count("frames", s.Frames, 1_000_000)
	c.float("score", s.Score, -1, 1)
	c.float("margin", s.Margin, 0, 2)
	c.token("model", s.Model, true, 128)
	c.float("quality", s.Quality, 0, 1)
	c.crop("crop", s.Crop, false)
	return c.err
}

// DecodeSighting reads a sighting; now is the receiver's clock, against
// which timestamps may be at most MaxClockSkew ahead.
func DecodeSighting(data []byte, now time.Time) (Sighting, error) {
	var s Sighting
	if err := decode("sighting", data, &s); err != nil {
		return Sighting{}, err
	}
	if err := s.check(now); err != nil {
		return Sighting{}, err
	}
	return s, nil
}
