package monitor

import (
	"context"
	"encoding/json"
	"time"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/edge/store"
)

// The JSON views of the API. Field names are the API's contract with the
// pages and outside clients (openapi.json describes them); they are kept
// apart from the store's types so that a store change cannot change the
// API by accident.

type userView struct {
	Name     string `json:"name"`
	Role     string `json:"role"`
	Lang     string `json:"lang"`
	Disabled bool   `json:"disabled"`
}

func viewUser(u store.User) userView {
	return userView{Name: u.Name, Role: string(u.Role), Lang: u.Lang, Disabled: u.Disabled}
}

type cameraView struct {
	ID     string       `json:"id"`
	Name   string       `json:"name"`
	Zone   string       `json:"zone"`
	Codec  string       `json:"codec"`
	Mode   string       `json:"mode"`
	State  string       `json:"state"`
	Reason string       `json:"reason,omitempty"`
	Error  string       `json:"error,omitempty"`
	Since  *time.Time   `json:"since,omitempty"`
	FPSIn  float64      `json:"fps_in"`
	FPSOut float64      `json:"fps_out"`
	Width  int          `json:"width,omitempty"`
	Height int          `json:"height,omitempty"`
	Region [][2]float64 `json:"region"`
}

// stateName is the monitor's word for a camera state.
func stateName(s camera.State) string {
	switch s {
	case camera.StateIdle, camera.StateConnecting:
		return "starting"
	case camera.StateStreaming:
		return "streaming"
	case camera.StateStalled:
		return "stalled"
	case camera.StateBackingOff, camera.StateFailed:
		return "down"
	case camera.StateStopped:
		return "stopped"
	}
	return "unknown"
}

type sightingView struct {
	ID        string    `json:"id"`
	Camera    string    `json:"camera"`
	Zone      string    `json:"zone"`
	Track     uint64    `json:"track"`
	Person    string    `json:"person,omitempty"`
	Name      string    `json:"name,omitempty"`
	Model     string    `json:"model"`
	Score     float32   `json:"score"`
	Margin    float32   `json:"margin"`
	Quality   float32   `json:"quality"`
	Frames    int       `json:"frames"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	HasCrop   bool      `json:"has_crop"`
}

type decisionView struct {
	Decision string    `json:"decision"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
	Reason   string    `json:"reason"`
}

type alertView struct {
	ID             string          `json:"id"`
	Kind           string          `json:"kind"`
	Rule           string          `json:"rule"`
	RuleName       string          `json:"rule_name,omitempty"`
	Severity       string          `json:"severity"`
	State          string          `json:"state"`
	CreatedAt      time.Time       `json:"created_at"`
	AcknowledgedBy string          `json:"acknowledged_by,omitempty"`
	AcknowledgedAt *time.Time      `json:"acknowledged_at,omitempty"`
	Decision       *decisionView   `json:"decision,omitempty"`
	Sighting       sightingView    `json:"sighting"`
	Evidence       json.RawMessage `json:"evidence"`
	Photos         []string        `json:"photos"`
}

type personView struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Facility   string    `json:"facility"`
	Status     string    `json:"status"`
	Categories []string  `json:"categories"`
	WatchLists []string  `json:"watch_lists"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

func viewPerson(p store.Person) personView {
	return personView{ID: p.ID, Name: p.DisplayName, Facility: p.Facility, Status: string(p.Status),
		Categories: nonNil(p.Categories), WatchLists: nonNil(p.WatchLists), CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

// personInput is a person as a client writes it: without the fields the
// store sets.
type personInput struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Facility   string   `json:"facility"`
	Status     string   `json:"status"`
	Categories []string `json:"categories"`
	WatchLists []string `json:"watch_lists"`
}

type photoView struct {
	ID        string    `json:"id"`
	SHA256    string    `json:"sha256"`
	Bytes     int       `json:"bytes"`
	Source    string    `json:"source"`
	CreatedAt time.Time `json:"created_at"`
}

type templateView struct {
	ID        string    `json:"id"`
	Model     string    `json:"model"`
	Dim       int       `json:"dim"`
	Quality   float32   `json:"quality"`
	Source    string    `json:"source"`
	Photo     string    `json:"photo,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
}

type permitView struct {
	ID       int64  `json:"id"`
	PersonID string `json:"person_id"`
	ZoneID   string `json:"zone_id"`
	Window   string `json:"window"`
}

func viewPermit(p store.Permit) permitView {
	return permitView{ID: p.ID, PersonID: p.PersonID, ZoneID: p.ZoneID, Window: p.Window}
}

type keepApartView struct {
	A         string    `json:"a"`
	B         string    `json:"b"`
	Reason    string    `json:"reason"`
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
}

type ruleView struct {
	ID       string          `json:"id"`
	Kind     string          `json:"kind"`
	Name     string          `json:"name"`
	Params   json.RawMessage `json:"params"`
	Severity string          `json:"severity"`
	// Cooldown is in whole seconds.
	Cooldown int64 `json:"cooldown"`
	Enabled  bool  `json:"enabled"`
}

func viewRule(r store.Rule) ruleView {
	params := r.Params
	if len(params) == 0 {
		params = json.RawMessage("{}")
	}
	return ruleView{ID: r.ID, Kind: string(r.Kind), Name: r.Name, Params: params, Severity: string(r.Severity),
		Cooldown: int64(r.Cooldown / time.Second), Enabled: r.Enabled}
}

type zoneView struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Kind string `json:"kind"`
}

type enrolResultView struct {
	File     string  `json:"file"`
	Status   string  `json:"status"`
	Reason   string  `json:"reason,omitempty"`
	Template string  `json:"template,omitempty"`
	Quality  float32 `json:"quality,omitempty"`
	// SimilarTo and Score name the most similar other person when the
	// photo looked like one.
	SimilarTo string  `json:"similar_to,omitempty"`
	Score     float32 `json:"score,omitempty"`
}

type auditView struct {
	Seq    uint64 `json:"seq"`
	At     string `json:"at"`
	AtMs   int64  `json:"at_ms"`
	Actor  string `json:"actor"`
	Action string `json:"action"`
	Object string `json:"object"`
	Detail string `json:"detail"`
	Prev   string `json:"prev"`
	Hash   string `json:"hash"`
}

func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

// names looks person names up once per request.
type names struct {
	st    Store
	cache map[string]string
}

func (s *Server) names() *names { return &names{st: s.st, cache: map[string]string{}} }

func (n *names) of(ctx context.Context, person string) string {
	if person == "" {
		return ""
	}
	if v, ok := n.cache[person]; ok {
		return v
	}
	p, err := n.st.Person(ctx, person)
	name := ""
	if err == nil {
		name = p.DisplayName
	}
	n.cache[person] = name
	return name
}
