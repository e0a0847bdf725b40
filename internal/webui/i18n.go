package webui

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// LangCookie is the cookie the login page's language switch sets: before
// logging in there is no account whose language to change.
const LangCookie = "dozor_lang"

// Catalogue holds an application's interface texts: for each language,
// its texts by key.
type Catalogue struct {
	langs []string // the default first
	texts map[string]map[string]string
}

// MustCatalogue reads dir/<lang>.json from fsys for each of langs, the
// default first. The catalogues are embedded in the program, so a missing
// or malformed one is a defect of the build: it panics.
func MustCatalogue(fsys fs.FS, dir string, langs ...string) *Catalogue {
	c := &Catalogue{langs: slices.Clone(langs), texts: map[string]map[string]string{}}
	for _, l := range langs {
		b, err := fs.ReadFile(fsys, dir+"/"+l+".json")
		if err != nil {
			panic(fmt.Sprintf("webui: catalogue %s: %v", l, err))
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			panic(fmt.Sprintf("webui: catalogue %s: %v", l, err))
		}
		c.texts[l] = m
	}
	return c
}

// Langs returns the languages, the default first.
func (c *Catalogue) Langs() []string { return slices.Clone(c.langs) }

// Norm returns lang when the catalogue has it, else the default.
func (c *Catalogue) Norm(lang string) string {
	if _, ok := c.texts[lang]; ok {
		return lang
	}
	return c.langs[0]
}

// T returns the text of key in lang (the default language for an unknown
// one), or the key itself when the language lacks it: a missing text is
// a bug, better shown as its key than as an empty space.
func (c *Catalogue) T(lang, key string) string {
	if s, ok := c.texts[c.Norm(lang)][key]; ok {
		return s
	}
	return key
}

// Dict returns a copy of lang's texts, for the JSON block the pages'
// scripts read.
func (c *Catalogue) Dict(lang string) map[string]string {
	return maps.Clone(c.texts[c.Norm(lang)])
}

// Funcs returns the templates' "t" function bound to lang.
func (c *Catalogue) Funcs(lang string) template.FuncMap {
	return template.FuncMap{"t": func(key string) string { return c.T(lang, key) }}
}

// RequestLang returns the language of an anonymous page (the login page):
// the LangCookie when valid, else the first language of the catalogue
// named in Accept-Language, else the default.
func (c *Catalogue) RequestLang(r *http.Request) string {
	if ck, err := r.Cookie(LangCookie); err == nil {
		if _, ok := c.texts[ck.Value]; ok {
			return ck.Value
		}
	}
	for part := range strings.SplitSeq(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if _, ok := c.texts[base]; ok {
			return base
		}
	}
	return c.langs[0]
}
