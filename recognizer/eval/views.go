package eval

import (
	"fmt"

	"path/filepath"
	"slices"
	"strings"
)

// A mugshot of a rotating-rig set (frmdb-dev) is image number n = 4·X + Y
// of its person, X = 0..6 the horizontal angle −135° + 45°·X (0° faces the
// camera) and Y = 1..4 the vertical angle 90° − 30°·Y (+ is from above).
const (
	rigYawStep, rigYawMin     = 45, -135
	rigPitchStep, rigPitchTop = 30, 90
)

// MugshotNumber returns the image number of the rig mugshot taken at yaw
// and pitch degrees.
func MugshotNumber(yaw, pitch int) (int, error) {
	if (yaw-rigYawMin)%rigYawStep != 0 || yaw < rigYawMin || yaw > -rigYawMin {
		return 0, fmt.Errorf("yaw %d°: the rig has -135..135 in steps of 45", yaw)
	}
	if (rigPitchTop-pitch)%rigPitchStep != 0 || pitch > 60 || pitch < -30 {
		return 0, fmt.Errorf("pitch %d°: the rig has 60, 30, 0 and -30", pitch)
	}
	return 4*(yaw-rigYawMin)/rigYawStep + (rigPitchTop-pitch)/rigPitchStep, nil
}

// viewAngles lists each named multi-view gallery as (yaw, pitch) pairs.
var viewAngles = map[string][][2]int{
	// The frontal photo at eye level, as the data set's own gallery.
	"frontal": {{0, 0}},
	// A booking set: frontal, both 90° profiles, from above and below.
	"booking": {{0, 0}, {-90, 0}, {90, 0}, {0, 30}, {0, -30}},
	// Within 45° left or right and 30° up or down.
	"nine": {{-45, 30}, {-45, 0}, {-45, -30}, {0, 30}, {0, 0}, {0, -30}, {45, 30}, {45, 0}, {45, -30}},
}

// ViewNames lists the names Views accepts.
func ViewNames() []string {
	names := make([]string, 0, len(viewAngles))
	for n := range viewAngles {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Views returns the image numbers of a named set of rig mugshots (see
// ViewNames), in increasing order.
func Views(name string) ([]int, error) {
	angles, ok := viewAngles[name]
	if !ok {
		return nil, fmt.Errorf("views %q: want one of %s", name, strings.Join(ViewNames(), ", "))
	}
	var ns []int
	for _, a := range angles {
		n, err := MugshotNumber(a[0], a[1])
		if err != nil {
			return nil, err
		}
		ns = append(ns, n)
	}
	slices.Sort(ns)
	return ns, nil
}

// ViewsGallery enrols every person of the data set's gallery from the
// named set of rig mugshots instead, in gallery order.
func (d *Dataset) ViewsGallery(name string) ([]Labeled, error) {
	ns, err := Views(name)
	if err != nil {
		return nil, err
	}
	var out []Labeled
	seen := map[string]bool{}
	for _, g := range d.Gallery {
		if seen[g.ID] {
			continue
		}
		seen[g.ID] = true
		if err := checkName(g.ID); err != nil {
			return nil, fmt.Errorf("views %s: %v", name, err)
		}
		for _, n := range ns {
			out = append(out, Labeled{ID: g.ID, Path: ImagePath(g.ID, n)})
		}
	}
	if err := d.checkGallery(out, "views "+name); err != nil {
		return nil, err
	}
	return out, nil
}

// LoadGallery reads a gallery list ("<identity>\t<path>" lines, as
// gallery.txt; a person may have several images) and checks it against
// the data set: every image exists, every genuine probe's person is
// enrolled, no impostor is, and no probe is enrolled.
func (d *Dataset) LoadGallery(file string) ([]Labeled, error) {
	list, refs, err := readList(file)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("gallery %s is empty", file)
	}
	if err := checkImages(d.Dir, refs); err != nil {
		return nil, err
	}
	if err := d.checkGallery(list, file); err != nil {
		return nil, err
	}
	return list, nil
}

// UseGallery makes list the data set's gallery, so that its images are
// among Images and identification enrols it.
func (d *Dataset) UseGallery(list []Labeled) { d.Gallery = list }

// checkGallery checks a replacement gallery against the probe lists.
func (d *Dataset) checkGallery(list []Labeled, name string) error {
	if len(d.Genuine)+len(d.Impostor) == 0 {
		return fmt.Errorf("%s: data set %s has no identification probes", name, d.Dir)
	}
	var refs []imageRef
	for i, l := range list {
		refs = append(refs, imageRef{l.Path, name, i + 1})
	}
	if err := checkImages(d.Dir, refs); err != nil {
		return err
	}
	alt := Dataset{Dir: d.Dir, Gallery: list}
	if err := alt.checkProbes(d.Genuine, filepath.Join(d.Dir, IdentificationDir, GenuineFile), true); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := alt.checkProbes(d.Impostor, filepath.Join(d.Dir, IdentificationDir, ImpostorFile), false); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// HasRig reports whether the data set's folder name marks a rotating-rig
// mugshot set (frmdb*), whose multi-view galleries Views names.
func HasRig(dir string) bool {
	return strings.HasPrefix(strings.ToLower(filepath.Base(filepath.Clean(dir))), "frmdb")
}
