package hw

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Temperature is one sensor reading.
type Temperature struct {
	// Sensor is the thermal zone type ("cpu-thermal", "bigcore0-thermal")
	// or the hwmon chip name and input label ("nvme/Composite",
	// "coretemp/Core 0"; "k10temp/temp1" when the input has no label).
	Sensor string
	// Path is the file the reading came from, which tells apart sensors
	// that share a name.
	Path string
	// Celsius is the reading.
	Celsius float64
	// Critical is where the kernel or firmware shuts the board down: the
	// zone's "critical" trip point or the hwmon temp*_crit; 0 when unknown.
	Critical float64
}

// Readings outside this range come from unconnected or failed sensors
// (-273.15, 0x7fffffff and the like) and would only mislead.
const minCelsius, maxCelsius = -60, 200

// ReadTemperatures reads every thermal zone and hwmon temperature input
// under r. The result is in sysfs order: thermal zones by number, then hwmon
// chips by number and their inputs by number. Sensors that cannot be read
// (many drivers answer EIO or ENODATA while their device sleeps) or give
// garbage are left out. A board without sensors, like most VMs, gives an
// empty slice and no error; the error is only for a board whose sensors
// all failed, and joins the reason for each.
func ReadTemperatures(r Roots) ([]Temperature, error) {
	var (
		found []sensorReading
		errs  []error
		zones = map[string]bool{}
	)

	thermal := r.sys("class", "thermal")
	ents, err := readDirIfExists(thermal)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		idx, ok := indexOf(e.Name(), "thermal_zone")
		if !ok {
			continue
		}
		dir := r.sys("class", "thermal", e.Name())
		typ, err := readAttr(dir + "/type")
		if err != nil || typ == "" {
			typ = e.Name()
		}
		zones[strings.ReplaceAll(typ, "-", "_")] = true
		c, err := readMilliCelsius(dir + "/temp")
		if err != nil {
			if !notExist(err) {
				errs = append(errs, err)
			}
			continue
		}
		found = append(found, sensorReading{
			Temperature: Temperature{Sensor: typ, Path: dir + "/temp", Celsius: c, Critical: zoneCritical(dir)},
			kind:        0, index: idx,
		})
	}

	hwmon := r.sys("class", "hwmon")
	if ents, err = readDirIfExists(hwmon); err != nil {
		return nil, err
	}
	for _, e := range ents {
		idx, ok := indexOf(e.Name(), "hwmon")
		if !ok {
			continue
		}
		dir := r.sys("class", "hwmon", e.Name())
		name, err := readAttr(dir + "/name")
		if err != nil || name == "" {
			name = e.Name()
		}
		// The kernel mirrors every thermal zone as an hwmon chip named
		// after the zone type with '-' turned into '_'; reading both would
		// list the same sensor twice.
		if zones[strings.ReplaceAll(name, "-", "_")] {
			continue
		}
		inputs, err := os.ReadDir(dir)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, in := range inputs {
			base, ok := strings.CutSuffix(in.Name(), "_input")
			if !ok {
				continue
			}
			sub, ok := indexOf(base, "temp")
			if !ok {
				continue
			}
			c, err := readMilliCelsius(dir + "/" + in.Name())
			if err != nil {
				if !notExist(err) {
					errs = append(errs, err)
				}
				continue
			}
			label, err := readAttr(dir + "/" + base + "_label")
			if err != nil || label == "" {
				label = base
			}
			crit, err := readMilliCelsius(dir + "/" + base + "_crit")
			if err != nil {
				crit = 0
			}
			found = append(found, sensorReading{
				Temperature: Temperature{Sensor: name + "/" + label, Path: dir + "/" + in.Name(), Celsius: c, Critical: crit},
				kind:        1, index: idx, sub: sub,
			})
		}
	}

	slices.SortFunc(found, func(a, b sensorReading) int {
		return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.index, b.index), cmp.Compare(a.sub, b.sub))
	})
	out := make([]Temperature, len(found))
	for i, s := range found {
		out[i] = s.Temperature
	}
	if len(out) == 0 && len(errs) > 0 {
		return out, errors.Join(errs...)
	}
	return out, nil
}

type sensorReading struct {
	Temperature
	kind, index, sub int
}

// zoneCritical finds the zone's "critical" trip point. A missing or bad
// trip point only loses the threshold, not the reading.
func zoneCritical(dir string) float64 {
	// Trip points are numbered from 0 without gaps; the bound only guards
	// against a looping fixture.
	for i := 0; i < 64; i++ {
		typ, err := readAttr(fmt.Sprintf("%s/trip_point_%d_type", dir, i))
		if err != nil {
			return 0
		}
		if typ != "critical" {
			continue
		}
		c, err := readMilliCelsius(fmt.Sprintf("%s/trip_point_%d_temp", dir, i))
		if err != nil {
			return 0
		}
		return c
	}
	return 0
}

func readMilliCelsius(path string) (float64, error) {
	s, err := readAttr(path)
	if err != nil {
		return 0, err
	}
	m, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: not a temperature in millidegrees: %q", path, clip(s))
	}
	c := float64(m) / 1000
	if c < minCelsius || c > maxCelsius {
		return 0, fmt.Errorf("%s: implausible temperature %g °C", path, c)
	}
	return c, nil
}

func readDirIfExists(dir string) ([]os.DirEntry, error) {
	ents, err := os.ReadDir(dir)
	if notExist(err) {
		return nil, nil
	}
	return ents, err
}
