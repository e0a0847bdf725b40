package enroll

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/enrolcheck"
)

// ReembedReport says what a re-embedding run did.
type ReembedReport struct {
	Model recognizer.ModelID `json:"model"`
	// Persons is the number of persons with at least one enrolment photo.
	Persons int `json:"persons"`
	// Skipped of them already had a template of Model.
	Skipped int `json:"skipped"`
	// Reembedded persons got templates of Model in this run, Templates in
	// all.
	Reembedded int `json:"reembedded"`
	Templates  int `json:"templates"`
	// Failed lists persons whose photos gave no template (no face, several
	// faces, undecodable); they stay out of Model's gallery.
	Failed []string `json:"failed,omitempty"`
	// NoPhoto lists profiles with neither a template of Model nor an
	// enrolment photo to make one from.
	NoPhoto []string `json:"no_photo,omitempty"`
	// Results has one entry per photo processed.
	Results []Result `json:"results"`
}

// Reembed adds templates of eng's model made from the stored enrolment
// photos of every person who has none of that model yet. Templates of
// other models are neither read nor changed, and nothing is compared
// across models.
//
// The quality policy is not applied again: each photo was accepted when
// it was enrolled, and a person left out of the new model's gallery would
// be worse than a template of a borderline face; the quality score is
// stored and a face the enrolment policy would refuse is noted in its
// Result. A photo with no face or several faces under the new engine
// gives no template and is reported.
//
// The run is resumable: it skips persons who already have a template of
// the model, and on cancellation it stops between persons (a person's few
// photos are finished first, so no person is left half done). A summary
// is audited either way.
func Reembed(ctx context.Context, st Store, eng recognizer.Engine, decode Decoder, actor string, progress Progress) (ReembedReport, error) {
	model := eng.Model()
	rep := ReembedReport{Model: model, Results: []Result{}}
	if actor == "" {
		return rep, errors.New("enroll: reembed: no actor given")
	}
	if decode == nil {
		return rep, errors.New("enroll: reembed: no image decoder given")
	}
	cat, err := ReadCatalogue(ctx, st)
	if err != nil {
		return rep, err
	}
	have, err := st.Templates(ctx, model, actor)
	if err != nil {
		return rep, fmt.Errorf("enroll: reembed: loading the templates of %s: %w", model, err)
	}
	done := map[string]bool{}
	for _, t := range have {
		if len(t.Vec) != eng.Dim() {
			return rep, fmt.Errorf("enroll: reembed: the store holds %d-component templates of model %q, the engine makes %d",
				len(t.Vec), model, eng.Dim())
		}
		done[t.PersonID] = true
	}
	persons, err := st.Persons(ctx)
	if err != nil {
		return rep, fmt.Errorf("enroll: reembed: %w", err)
	}
	for _, p := range persons {
		if !done[p.ID] && len(cat.Photos[p.ID]) == 0 {
			rep.NoPhoto = append(rep.NoPhoto, p.ID)
		}
	}
	var todo []string
	total := 0
	for id, photos := range cat.Photos {
		if len(photos) == 0 {
			continue
		}
		rep.Persons++
		if done[id] {
			rep.Skipped++
			continue
		}
		todo = append(todo, id)
		total += len(photos)
	}
	slices.Sort(todo)

	n := 0
	var runErr error
	for _, id := range todo {
		if runErr = ctx.Err(); runErr != nil {
			break
		}
		// The person's photos are finished together: cancellation is
		// honoured between persons only, since a resumed run skips anyone
		// holding a template of the model.
		work := context.WithoutCancel(ctx)
		added := 0
		seen := map[string]string{}
		for _, ph := range cat.Photos[id] {
			r, err := reembedPhoto(work, st, eng, decode, actor, id, ph, seen)
			n++
			rep.Results = append(rep.Results, r)
			if progress != nil {
				progress(n, total, r)
			}
			if err != nil {
				runErr = err
				break
			}
			if r.Status == StatusEnrolled {
				added++
			}
		}
		rep.Templates += added
		if added > 0 {
			rep.Reembedded++
		} else if runErr == nil {
			rep.Failed = append(rep.Failed, id)
		}
		if runErr != nil {
			break
		}
	}

	detail := map[string]any{"persons": rep.Persons, "skipped": rep.Skipped, "reembedded": rep.Reembedded,
		"templates": rep.Templates, "failed": len(rep.Failed), "no_photo": len(rep.NoPhoto)}
	if runErr != nil {
		detail["stopped"] = clip(runErr.Error())
	}
	b, _ := json.Marshal(detail)
	if err := st.Audit(context.WithoutCancel(ctx), actor, "gallery.reembed", "model:"+string(model), string(b)); err != nil {
		return rep, errors.Join(runErr, fmt.Errorf("enroll: audit gallery.reembed: %w", err))
	}
	return rep, runErr
}

// reembedPhoto makes one template of the engine's model from a stored
// photo. seen maps the hashes of the person's photos already done in this
// run to their photo ids, so that two copies of one photo give one
// template.
func reembedPhoto(ctx context.Context, st Store, eng recognizer.Engine, decode Decoder, actor, person string,
	ph PhotoRef, seen map[string]string) (Result, error) {
	r := Result{Person: person, Image: "photo:" + ph.ID, PhotoID: ph.ID, SHA256: ph.SHA256}
	refuse := func(s Status, format string, args ...any) (Result, error) {
		r.Status, r.Reason = s, fmt.Sprintf(format, args...)
		return r, nil
	}
	// The store's hash finds a second copy before it is decrypted.
	if other, ok := seen[r.SHA256]; ok {
		return refuse(StatusAlreadyEnrolled, "the same photo as %s, done just before", other)
	}
	seen[r.SHA256] = ph.ID
	data, err := st.Photo(ctx, actor, ph.ID)
	if errors.Is(err, store.ErrNotFound) {
		return refuse(StatusBadImage, "the photo is no longer stored")
	}
	if err != nil {
		return r, fmt.Errorf("enroll: reembed: reading photo %s of %s: %w", ph.ID, person, err)
	}
	img, err := decode(data)
	if err != nil {
		return refuse(StatusBadImage, "%v", err)
	}
	faces, err := eng.Detect(img)
	if err != nil {
		return refuse(StatusError, "face detection: %v", err)
	}
	r.Faces = len(faces)
	switch len(faces) {
	case 0:
		return refuse(StatusNoFace, "no face found by %s", eng.Name())
	case 1:
	default:
		return refuse(StatusSeveralFaces, "%d faces found by %s: whose face the template would be is ambiguous", len(faces), eng.Name())
	}
	q := enrolcheck.Assess(faces[0], recognizer.DefaultEnrolPolicy)
	r.Quality = q.Score
	if !q.Usable() {
		r.Reason = "below the enrolment policy under this engine (" + q.Reason + "); re-embedded as enrolled"
	}
	emb, err := enrolcheck.Embed(eng, img, faces[0])
	if err != nil {
		return refuse(StatusError, "%v", err)
	}
	source := ph.Source
	if source == "" {
		source = Source
	}
	tid, err := st.AddTemplate(ctx, actor, store.NewTemplate{PersonID: person, Model: eng.Model(), Vec: emb.Vec,
		Quality: enrolcheck.TemplateQuality(q), Source: source, PhotoID: ph.ID})
	if errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrNotFound) {
		return refuse(StatusError, "storing the template: %v", err)
	}
	if err != nil {
		return r, fmt.Errorf("enroll: reembed: storing the template of %s: %w", person, err)
	}
	r.TemplateID, r.Status = tid, StatusEnrolled
	return r, nil
}
