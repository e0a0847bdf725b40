package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"
)

//go:embed i18n/*.json
var i18nFS embed.FS

// Langs are the interface languages, the default first.
var Langs = []string{"ru", "en"}

// catalogues maps a language to its texts by key. Both catalogues have
// the same keys (a test checks it); a missing one is a bug, shown as the
// key itself rather than an empty space.
var catalogues = func() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, l := range Langs {
		b, err := i18nFS.ReadFile("i18n/" + l + ".json")
		if err != nil {
			panic(fmt.Sprintf("web: catalogue %s: %v", l, err))
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			panic(fmt.Sprintf("web: catalogue %s: %v", l, err))
		}
		out[l] = m
	}
	return out
}()

// NormLang returns lang when it is one of Langs, else the default
// (Russian: the facilities' staff read Russian).
func NormLang(lang string) string {
	if _, ok := catalogues[lang]; ok {
		return lang
	}
	return Langs[0]
}

// T returns the text of key in lang (the default language for an unknown
// one), or the key itself when the catalogue lacks it.
func T(lang, key string) string {
	if s, ok := catalogues[NormLang(lang)][key]; ok {
		return s
	}
	return key
}

func catalogue(lang string) map[string]string { return maps.Clone(catalogues[NormLang(lang)]) }

// LangCookie is the cookie the login page's language switch sets: before
// logging in there is no account whose language to change.
const LangCookie = "dozor_lang"

// RequestLang returns the language of an anonymous page (the login page):
// the LangCookie when valid, else the first of Langs named in
// Accept-Language, else the default.
func RequestLang(r *http.Request) string {
	if c, err := r.Cookie(LangCookie); err == nil {
		if _, ok := catalogues[c.Value]; ok {
			return c.Value
		}
	}
	for part := range strings.SplitSeq(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if _, ok := catalogues[base]; ok {
			return base
		}
	}
	return Langs[0]
}
