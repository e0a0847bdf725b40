// Package webui holds what the guard monitor and the region dashboard
// serve alike: the base stylesheet, the scripts every page loads
// (common.js, login.js), the handler that serves embedded assets with
// ETags, the strict JSON body decoder and the JSON error answer, the
// server-sent events loop, and the catalogues of interface texts with the
// templates' "t" function. Each application keeps its own pages,
// catalogues and app-specific assets, served ahead of the shared ones;
// the shared scripts' keys must be in every application's catalogues.
package webui
