// Package custody is the custody rules' shared vocabulary: rule kinds,
// severities, kind parameters and weekly time windows, as the store keeps
// them and the rules engine reads them. It lies below both, so that
// neither needs the other: the store checks what it writes with
// ParseParams and ParseWindow and keeps the canonical forms they give, and
// the rules engine builds its snapshots, and their validation, on the same
// types and Checker.
//
// # Parameters
//
// A rule's kind-specific settings (Params: watch_list for watch_list
// rules, within for keep_apart rules) are one JSON object that ParseParams
// reads strictly and checks for the kind; the result marshals to a
// canonical form. Each problem is a *FieldError naming its key.
//
// # Time windows
//
// A Window is written "DAYS HH:MM-HH:MM" (see ParseWindow): "mon-fri
// 08:00-17:00", "sat,sun 10:00-12:00", "daily 22:00-06:00", and read on a
// facility's wall clock in its time zone (Window.Contains).
// Window.Canonical spells a window one way ("Mon-Fri 08:00-17:00" and
// "mon,tue,wed-fri 08:00-17:00" are both "mon-fri 08:00-17:00"), for
// storing and comparing windows as text.
package custody
