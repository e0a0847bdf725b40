package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
)

// Point is a point of a camera's picture in normalised coordinates: X from
// the left edge (0) to the right (1), Y from the top (0) to the bottom (1),
// whatever the resolution.
type Point struct{ X, Y float64 }

// Limits on a camera region's polygon.
const (
	MinRegionPoints = 3
	MaxRegionPoints = 32
)

func checkRegion(pts []Point) error {
	const what = "camera region"
	if len(pts) == 0 {
		return nil
	}
	if len(pts) < MinRegionPoints || len(pts) > MaxRegionPoints {
		return invalid(what, "points", "has %d points, want %d..%d (or none to clear it)", len(pts), MinRegionPoints, MaxRegionPoints)
	}
	for i, p := range pts {
		for _, v := range []float64{p.X, p.Y} {
			if math.IsNaN(v) || v < 0 || v > 1 {
				return invalid(what, fmt.Sprintf("points[%d]", i), "(%v, %v) is outside [0,1]", p.X, p.Y)
			}
		}
	}
	return nil
}

// The stored form is the API's: a JSON array of [x, y] pairs.
func encodeRegion(pts []Point) string {
	pairs := make([][2]float64, len(pts))
	for i, p := range pts {
		pairs[i] = [2]float64{p.X, p.Y}
	}
	b, _ := json.Marshal(pairs) // numbers in [0,1] always encode
	return string(b)
}

func decodeRegion(s string) ([]Point, error) {
	var pairs [][2]float64
	if err := json.Unmarshal([]byte(s), &pairs); err != nil {
		return nil, err
	}
	pts := make([]Point, len(pairs))
	for i, p := range pairs {
		pts[i] = Point{p[0], p[1]}
	}
	return pts, checkRegion(pts)
}

// SetCameraRegion stores the polygon of the camera's picture that is its
// zone: MinRegionPoints..MaxRegionPoints points, each within [0,1], or
// none to clear it (the whole picture). Audited as "camera.region". An
// unknown camera is ErrNotFound.
func (s *Store) SetCameraRegion(ctx context.Context, actor, cameraID string, pts []Point) error {
	const what = "camera region"
	if err := checkID(what, "actor", actor); err != nil {
		return err
	}
	if err := checkID(what, "camera", cameraID); err != nil {
		return err
	}
	if err := checkRegion(pts); err != nil {
		return err
	}
	detail := map[string]any{"points": len(pts)}
	var region any // NULL clears it
	if len(pts) > 0 {
		enc := encodeRegion(pts)
		region, detail["region"] = enc, json.RawMessage(enc)
	}
	return s.write(ctx, "set region of camera "+cameraID, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE cameras SET region = ?, updated_at_ms = ? WHERE id = ?`, region, s.nowMs(), cameraID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: camera %q", ErrNotFound, cameraID)
		}
		return s.appendAudit(ctx, tx, actor, "camera.region", "camera:"+cameraID, detail)
	})
}
