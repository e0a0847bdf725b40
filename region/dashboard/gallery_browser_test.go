//go:build cgo

package dashboard_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dozor-edge/dozor/internal/engines"
	"github.com/dozor-edge/dozor/internal/sqlite"
	"github.com/dozor-edge/dozor/internal/testenv"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/opencv"
	"github.com/dozor-edge/dozor/region/dashboard"
	"github.com/dozor-edge/dozor/region/enrol"
	"github.com/dozor-edge/dozor/region/store"
)

// TestGalleryInBrowser serves the dashboard over a real SQLite store and
// the real enroller (engine and photos from the shared folder) and, as a
// region supervisor in headless Chromium: enrols a person from a photo of
// one face and a group photo (one verdict each), finds them in the
// gallery and opens their page (the photo served through the audited
// endpoint), starts a transfer and sees it go in transit on the desk
// without a reload, cancels another with a reason, and reads the site
// galleries and the audit log. Screenshots go to
// var/artifacts/region-enrol.png, region-gallery.png, region-person.png and
// region-transfers.png.
func TestGalleryInBrowser(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.OpenSQLite(filepath.Join(dir, "region.db"), store.Options{SQLite: sqlite.Binding{},
		KeyFile: filepath.Join(dir, "store.key"), CropDir: filepath.Join(dir, "crops")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	const password = "region supervisor pass"
	if err := dashboard.AddUser(ctx, st, "sveta", dashboard.RoleSupervisor, "en", password); err != nil {
		t.Fatal(err)
	}
	// A person held at ik6, whose transfer the supervisor will cancel.
	if err := st.PutPerson(ctx, "seed", store.Person{ID: "P-2", DisplayName: "Held Elsewhere", Facility: "ik6",
		Status: store.PersonActive}); err != nil {
		t.Fatal(err)
	}

	det := opencv.DefaultDetectorConfig
	det.RetryUpscale = true
	eng, err := engines.New(testenv.ModelDir(t), engines.FacePlugin, det)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	enroller, err := enrol.New(enrol.Config{Store: st, Engine: eng,
		Decode: func(b []byte) (*recognizer.Image, error) { return opencv.DecodeImage(b, enrol.MaxSide) }})
	if err != nil {
		t.Fatal(err)
	}
	s, err := dashboard.New(dashboard.Deps{Store: st, Enroller: enroller, Events: dashboard.NewHub(), Region: "north",
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	base := srv.URL

	bs := newBrowserSteps(t, 60*time.Second)
	browser, step, shot, poll := bs.browser, bs.step, bs.shot, bs.poll

	step("log in as a region supervisor",
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`input[name="user"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="user"]`), "sveta"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), password),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
	)
	waitJS(t, browser, `location.pathname === "/overview" && document.readyState === "complete"`)

	enrolDir := testenv.TestData(t, "video/enroll")
	group := filepath.Join(testenv.TestData(t, "faces"), "pristin.jpg")
	step("enrol a person from two photos",
		chromedp.Navigate(base+"/enrol"),
		chromedp.WaitVisible(chromedp.CSS(`#enrol-form input[name="id"]`)),
		chromedp.SendKeys(chromedp.CSS(`#enrol-form input[name="id"]`), "P-100"),
		chromedp.SendKeys(chromedp.CSS(`#enrol-form input[name="display_name"]`), "Barack Obama"),
		chromedp.SendKeys(chromedp.CSS(`#enrol-form input[name="facility"]`), "ik5"),
		chromedp.SendKeys(chromedp.CSS(`#enrol-form input[name="categories"]`), "remand"),
		chromedp.SetUploadFiles(chromedp.CSS(`#enrol-form input[name="photos"]`), []string{filepath.Join(enrolDir, "obama.jpg"), group}),
		chromedp.Click(chromedp.CSS(`#enrol-submit`)),
		poll(`document.querySelectorAll('#verdicts tr.verdict-row').length === 2 &&
			document.querySelector('#verdicts tr[data-file="obama.jpg"]').dataset.status === "enrolled" &&
			document.querySelector('#verdicts tr[data-file="pristin.jpg"]').dataset.status === "several_faces" &&
			[...document.querySelectorAll('#verdicts img.thumb')].every(i => i.complete && i.naturalWidth > 0) &&
			document.querySelector('#enrol-person') !== null`),
	)
	shot("region-enrol.png")

	step("the person in the gallery",
		chromedp.Navigate(base+"/gallery"),
		poll(`document.querySelectorAll('#persons tr.person-row').length === 2`),
		chromedp.SendKeys(chromedp.CSS(`#search input[name="search"]`), "obama"),
		chromedp.Click(chromedp.CSS(`#search button[type="submit"]`)),
		poll(`document.querySelectorAll('#persons tr.person-row').length === 1 &&
			document.querySelector('#persons tr[data-person="P-100"]').textContent.includes("ik5")`),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#search input[name="search"]').value = ""`),
		chromedp.Click(chromedp.CSS(`#search button[type="submit"]`)),
		poll(`document.querySelectorAll('#persons tr.person-row').length === 2`),
	)
	shot("region-gallery.png")

	step("open the person's page", chromedp.Click(chromedp.CSS(`#persons tr[data-person="P-100"] a`)))
	waitJS(t, browser, `location.pathname === "/gallery/person" && document.readyState === "complete"`)
	step("the person's page with the photo and the template",
		poll(`document.querySelectorAll('#photos img').length === 1 &&
			document.querySelector('#photos img').complete && document.querySelector('#photos img').naturalWidth > 0 &&
			document.querySelectorAll('#templates tbody tr').length === 1 &&
			document.querySelector('#templates tbody').textContent.includes("faceplugin")`),
	)
	shot("region-person.png")

	step("go to the transfer desk", chromedp.Click(chromedp.CSS(`#person-transfer`)))
	waitJS(t, browser, `location.pathname === "/transfers" && document.readyState === "complete"`)
	step("start two transfers on the desk",
		poll(`document.querySelector('#transfer-form input[name="person"]').value === "P-100"`),
		chromedp.SendKeys(chromedp.CSS(`#transfer-form input[name="to"]`), "ik6"),
		chromedp.SendKeys(chromedp.CSS(`#transfer-form input[name="reason"]`), "court order 12/7"),
		chromedp.Click(chromedp.CSS(`#transfer-form button[type="submit"]`)),
		poll(`document.querySelector('#transfers li[data-person="P-100"]')?.dataset.state === "requested"`),
		chromedp.SendKeys(chromedp.CSS(`#transfer-form input[name="person"]`), "P-2"),
		chromedp.SendKeys(chromedp.CSS(`#transfer-form input[name="to"]`), "ik5"),
		chromedp.SendKeys(chromedp.CSS(`#transfer-form input[name="reason"]`), "hospital wing"),
		chromedp.Click(chromedp.CSS(`#transfer-form button[type="submit"]`)),
		poll(`document.querySelector('#transfers li[data-person="P-2"]')?.dataset.state === "requested"`),
		chromedp.Evaluate[chromedp.Void](`window.__sameDocument = true`),
	)
	// The source does not answer: the region's timer puts the transfer in
	// transit, and the open desk shows it without a reload.
	if _, err := st.AdvanceTransfers(ctx, time.Now().Add(2*time.Minute), time.Minute); err != nil {
		t.Fatal(err)
	}
	step("the desk follows the transfer in transit",
		poll(`window.__sameDocument === true &&
			document.querySelector('#transfers li[data-person="P-100"]')?.dataset.state === "in_transit" &&
			document.querySelector('#transfers li[data-person="P-100"] li[data-step="in_transit"]').classList.contains("done")`),
	)
	step("cancel the transfer of P-2 with a reason",
		chromedp.Click(chromedp.CSS(`#transfers li[data-person="P-2"] button.cancel`)),
		chromedp.WaitVisible(chromedp.CSS(`#cancel-dialog textarea`)),
		chromedp.SendKeys(chromedp.CSS(`#cancel-dialog textarea`), "order withdrawn"),
		chromedp.Click(chromedp.CSS(`#cancel-ok`)),
		poll(`document.querySelector('#transfers li[data-person="P-2"]') === null &&
			document.querySelector('#transfers li[data-person="P-100"]') !== null`),
		chromedp.Click(chromedp.CSS(`button[data-filter="all"]`)),
		poll(`document.querySelector('#transfers li[data-person="P-2"]')?.dataset.state === "cancelled" &&
			document.querySelector('#transfers li[data-person="P-2"] .cancel-reason').textContent.includes("order withdrawn") &&
			document.querySelector('#transfers li[data-person="P-2"] button.cancel') === null`),
	)
	shot("region-transfers.png")

	step("the site galleries behind their revisions",
		chromedp.Navigate(base+"/revisions"),
		poll(`document.querySelectorAll('#galleries tbody tr').length === 2 &&
			document.querySelector('#galleries tr[data-site="ik5"]').dataset.inStep === "false"`),
	)
	shot("region-revisions.png")
	step("the audit log with the reads of the photo",
		chromedp.Navigate(base+"/audit"),
		poll(`document.querySelector('#chain').classList.contains("good") &&
			[...document.querySelectorAll('#audit tbody tr')].some(r => r.textContent.includes("sveta") && r.dataset.action.includes("transfer.cancel"))`),
	)
	shot("region-audit.png")

	// The facilities' staff read Russian: the desk in Russian still fits
	// the screen.
	step("the desk in Russian",
		chromedp.Click(chromedp.CSS(`button[data-lang="ru"]`)),
	)
	waitJS(t, browser, `document.documentElement.lang === "ru" && document.readyState === "complete"`)
	step("open the desk in Russian", chromedp.Navigate(base+"/transfers"))
	waitJS(t, browser, `document.documentElement.lang === "ru" && document.querySelectorAll('#transfers li.transfer').length === 1`)
	shot("region-transfers-ru.png")
	if w, err := chromedp.Run(browser, chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`)); err != nil || w > 0 {
		t.Errorf("the Russian desk is %d px wider than the window (%v)", w, err)
	}
}
