package web

import (
	"embed"
	"net/http"

	"github.com/dozor-edge/dozor/internal/webui"
)

//go:embed i18n/*.json
var i18nFS embed.FS

// Langs are the interface languages, the default first: the facilities'
// staff read Russian.
var Langs = []string{"ru", "en"}

// texts are the monitor's catalogues. Both have the same keys (a test
// checks it).
var texts = webui.MustCatalogue(i18nFS, "i18n", Langs...)

// LangCookie is the cookie the login page's language switch sets.
const LangCookie = webui.LangCookie

// NormLang returns lang when it is one of Langs, else the default.
func NormLang(lang string) string { return texts.Norm(lang) }

// T returns the text of key in lang, or the key itself when the
// catalogue lacks it.
func T(lang, key string) string { return texts.T(lang, key) }

// RequestLang returns the language of an anonymous page (the login page):
// the LangCookie when valid, else the first of Langs named in
// Accept-Language, else the default.
func RequestLang(r *http.Request) string { return texts.RequestLang(r) }
