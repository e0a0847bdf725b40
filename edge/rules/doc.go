// Package rules is the facility rules engine: it turns decided sightings
// into alerts for guards and keeps each alert open until a person confirms
// or rejects it.
//
// # Ownership and time
//
// An Engine is owned by the sightings/rules goroutine of the daemon: it has
// no locks. It reads no clock either. Cooldowns and keep-apart intervals are
// measured between sighting times, time windows are read from the sighting
// time on the facility's wall clock, and a decision carries the time the
// caller gives it. Replaying the same sightings gives the same alerts (but
// for their random ids), whenever it is done.
//
// # Rules
//
// A snapshot (Config) describes one facility: its time zone, zones (some
// staff-only), cameras and the zone each looks at, the persons rules speak
// of, keep-apart orders between pairs of them, and the rules. Every rule has
// an id, a kind, a scope (the facility, one camera or one zone), a severity
// (info, warning, critical) and a cooldown. The kinds:
//
//   - watch_list: a person on the rule's watch list (any list when the
//     rule names none) is seen.
//   - outside_permit: a person with permits is seen in a zone, or at a
//     time, none of its permits covers. A permit names zones and,
//     optionally, weekly time windows; persons without permits are not
//     restricted.
//   - keep_apart: two persons under a keep-apart order are seen in the
//     same zone no more than the rule's "within" apart.
//   - unknown_in_staff_zone: an unknown face is seen in a staff-only zone.
//     Feed it tracks that ended unknown after enough usable frames, not
//     tracks too poor to judge.
//
// A cooldown holds back a repeat of an alert with the same rule, the same
// person (or pair, or unknown) and the same zone that comes within the
// cooldown of the last one raised, before or after it, because sightings
// from several cameras may arrive out of order. A person walking through
// three zones raises three alerts; one lingering in front of two cameras of
// one zone raises one. Deciding an alert does not end its cooldown.
//
// # Time windows
//
// Windows are written "DAYS HH:MM-HH:MM" (see custody.ParseWindow):
// "mon-fri 08:00-17:00", "sat,sun 10:00-12:00", "daily 22:00-06:00". They are
// wall-clock times in the facility's IANA time zone, so a window keeps its local
// hours across daylight-saving changes (the night the clocks go forward it
// is an hour shorter, the night they go back an hour longer). The daemon
// should link time/tzdata so that zone rules do not depend on the host.
//
// # Snapshot format
//
// Parse reads JSON strictly: unknown keys are errors. The same field names
// serve YAML. Validate reports every problem with the path of its key
// ("rules[2].cooldown: negative duration -1m0s"): unknown kinds,
// severities, zones, cameras and persons, negative cooldowns, malformed
// windows, identifiers defined twice, keep-apart orders given twice,
// permits of one person overlapping in zone and time, and rules that repeat
// another's kind, scope and parameters or could never fire.
// custody.ParseParams reads and checks a rule's kind-specific parameters
// (watch_list, within) on their own, as Validate does in a snapshot, for
// stores that keep them apart from the rest of the rule.
//
//	{
//	  "facility": "ik-7",
//	  "time_zone": "Europe/Moscow",
//	  "zones": [
//	    {"id": "block-a", "name": "Block A"},
//	    {"id": "workshop"},
//	    {"id": "yard"},
//	    {"id": "control-room", "staff_only": true}
//	  ],
//	  "cameras": [
//	    {"id": "cam-01", "zone": "block-a"},
//	    {"id": "cam-07", "zone": "yard"}
//	  ],
//	  "persons": [
//	    {"id": "p-1042", "watch_lists": ["escape-risk"],
//	     "permits": [{"zones": ["block-a", "yard"]},
//	                 {"zones": ["workshop"], "windows": ["mon-fri 08:00-17:00"]}]},
//	    {"id": "p-2210"}
//	  ],
//	  "keep_apart": [{"id": "ka-3", "persons": ["p-1042", "p-2210"]}],
//	  "rules": [
//	    {"id": "watch", "kind": "watch_list", "watch_list": "escape-risk", "severity": "critical", "cooldown": "10m"},
//	    {"id": "permits", "kind": "outside_permit", "severity": "warning", "cooldown": "15m"},
//	    {"id": "apart-yard", "kind": "keep_apart", "scope": {"zone": "yard"}, "within": "60s", "severity": "critical", "cooldown": "5m"},
//	    {"id": "staff", "kind": "unknown_in_staff_zone", "severity": "warning", "cooldown": "2m"}
//	  ]
//	}
//
// # Alerts
//
// An alert carries a random UUID, its rule, kind and severity, the camera,
// zone and time of the sighting that raised it, the persons involved and,
// for each sighting cited, the evidence a guard needs: score, margin over
// the runner-up and crop. It stays open until Decide records who confirmed
// or rejected it, when and why; deciding an unknown or already decided
// alert is an error. Restore reloads stored alerts after a restart so that
// open ones stay open and cooldowns survive.
package rules
