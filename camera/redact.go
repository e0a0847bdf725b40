package camera

import (
	"net/url"
	"sort"
	"strings"
)

// Redact returns the URL with its password replaced by ***
// (rtsp://user:***@host/path), for logs, errors and health reports. A URL
// that does not parse is reduced to its scheme so nothing secret leaks.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.Index(raw, "://"); i > 0 && i < 16 {
			return raw[:i] + "://<unparsable>"
		}
		return "<unparsable URL>"
	}
	if u.User == nil {
		return u.String()
	}
	name := u.User.Username()
	if _, has := u.User.Password(); has {
		// Built by hand: url.UserPassword would escape the asterisks.
		u.User = nil
		s := u.String()
		return strings.Replace(s, "://", "://"+url.PathEscape(name)+":***@", 1)
	}
	return u.String()
}

// scrubber removes a camera's secrets from text that may quote them (error
// messages of lower layers).
type scrubber struct{ secrets []string }

func newScrubber(raw string) scrubber {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return scrubber{}
	}
	var s scrubber
	if p, ok := u.User.Password(); ok && p != "" {
		s.secrets = append(s.secrets, u.User.String(), url.QueryEscape(p), url.PathEscape(p), p)
		sort.SliceStable(s.secrets, func(i, j int) bool { return len(s.secrets[i]) > len(s.secrets[j]) })
	}
	return s
}

func (s scrubber) clean(text string) string {
	for _, sec := range s.secrets { // longest first: user:pass before pass
		text = strings.ReplaceAll(text, sec, "***")
	}
	return text
}
