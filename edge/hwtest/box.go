package hwtest

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/dozor-edge/dozor/hw"
)

// BoxReport is what the box itself offers.
type BoxReport struct {
	CPU          hw.CPU           `json:"cpu"`
	Memory       hw.Memory        `json:"memory"`
	Disk         hw.Disk          `json:"disk"`
	Write        *hw.WriteSpeed   `json:"write,omitempty"`
	Clock        *hw.ClockSync    `json:"clock,omitempty"`
	NTPServer    string           `json:"ntp_server,omitempty"`
	NTPOffset    time.Duration    `json:"ntp_offset_ns,omitempty"`
	Temperatures []hw.Temperature `json:"temperatures"`
	// TemperaturesLoaded are read again after the camera test.
	TemperaturesLoaded []hw.Temperature `json:"temperatures_loaded,omitempty"`
}

// Thresholds of the box checks. They are the figures the fixes quote, so
// they live in one place.
const (
	minDiskFree      = 1 << 30  // below: the store fills within days and sightings stop being recorded
	warnDiskFree     = 8 << 30  // below: retention (90 days of sightings with crops) may not fit
	minWriteRate     = 2 << 20  // bytes/s with fsync: the store's commits queue behind slower storage
	warnWriteRate    = 10 << 20 // typical of a worn or slow SD card
	warnFsync        = 500 * time.Millisecond
	warnClockError   = time.Second
	failClockOffset  = 10 * time.Minute // the region refuses events further than this in the future
	warnTemp         = 75.0             // °C: most SoCs start throttling around 80-85
	failTemp         = 85.0
	tempCriticalGap  = 10.0 // °C below the sensor's own critical trip point
	memPerWorker     = 300 << 20
	memBase          = 256 << 20
	warnMemHeadroom  = 1.5
	defaultWriteSize = 64 << 20
)

// box runs the box checks.
func (t *tester) box(ctx context.Context, r *Report) {
	const sec = "box"
	roots := t.opt.Roots

	cpu, err := hw.ReadCPU(roots)
	if err != nil {
		r.add(Check{Section: sec, Name: "CPU", Verdict: Warn, Value: err.Error(),
			Fix: "the CPU could not be identified; the speed checks below still measure this box"})
	} else {
		r.Box.CPU = cpu
		r.add(cpuCheck(cpu))
		// The daemon starts one worker per core it is given; the box read
		// here is the one that counts (a fixture tree in tests).
		if t.cfg.Recognizer.Workers == 0 {
			t.workers = max(1, int(effectiveCores(cpu)))
		}
	}
	t.progress("box: memory")
	mem, err := hw.ReadMemory(roots)
	if err != nil {
		r.add(Check{Section: sec, Name: "memory", Verdict: Warn, Value: err.Error(),
			Fix: "memory could not be read; make sure /proc is mounted"})
	} else {
		r.Box.Memory = mem
		r.add(memCheck(mem, t.workers))
	}

	t.progress("box: disk")
	dir := t.dataDir()
	if d, err := hw.ReadDisk(dir); err != nil {
		r.add(Check{Section: sec, Name: "disk free", Verdict: Fail, Value: err.Error(),
			Fix: fmt.Sprintf("create the store's folder %s (store.path) on the data disk", dir)})
	} else {
		r.Box.Disk = d
		r.add(diskCheck(d))
		if t.opt.WriteBytes >= 0 {
			t.progress("box: write speed")
			size := t.opt.WriteBytes
			if size == 0 {
				size = defaultWriteSize
			}
			ws, err := hw.MeasureWrite(ctx, dir, size)
			if err != nil {
				r.add(Check{Section: sec, Name: "write speed", Verdict: Fail, Value: err.Error(),
					Fix: fmt.Sprintf("the store's folder %s must be writable by the daemon's user, on a disk with room", dir)})
			} else {
				r.Box.Write = &ws
				r.add(writeCheck(ws))
			}
		}
	}

	t.progress("box: clock")
	r.add(t.clockCheck(ctx, r))

	t.progress("box: temperature")
	temps, err := hw.ReadTemperatures(roots)
	if err != nil {
		r.add(Check{Section: sec, Name: "temperature", Verdict: Warn, Value: err.Error(),
			Fix: "the temperature sensors could not be read; check the enclosure's ventilation by hand"})
	} else {
		r.Box.Temperatures = temps
		r.add(tempCheck(temps))
	}
}

func cpuCheck(c hw.CPU) Check {
	ch := Check{Section: "box", Name: "CPU", Verdict: Pass}
	var simd []string
	switch {
	case c.AVX2:
		simd = append(simd, "AVX2")
	case c.NEON:
		simd = append(simd, "NEON")
	}
	if c.AVX512 {
		simd = append(simd, "AVX-512")
	}
	cores := fmt.Sprintf("%d cores", c.Cores)
	if c.CgroupCPUs > 0 {
		cores += fmt.Sprintf(" (container limit %.1f)", c.CgroupCPUs)
	}
	model := c.Model
	if model == "" {
		model = "unknown " + c.Arch
	}
	ch.Value = strings.Join(append([]string{model, cores}, simd...), ", ")
	switch {
	case c.Arch == "arm64" && !c.NEON, c.Arch == "amd64" && !c.AVX2:
		ch.Verdict = Warn
		ch.Fix = "this CPU lacks the vector instructions (AVX2 on x86-64, NEON on ARM) the detector, embedder and gallery search are tuned for; expect several times slower recognition, see the capacity check"
	case effectiveCores(c) < 2:
		ch.Verdict = Warn
		ch.Fix = "one core decodes, detects and searches in turn; give the box (or its container) at least 2 cores"
	}
	return ch
}

func effectiveCores(c hw.CPU) float64 {
	n := float64(c.Cores)
	if c.CgroupCPUs > 0 && c.CgroupCPUs < n {
		n = c.CgroupCPUs
	}
	return n
}

func memCheck(m hw.Memory, workers int) Check {
	need := uint64(memBase + workers*memPerWorker)
	total, avail := m.Total, m.Available
	if m.CgroupLimit > 0 && m.CgroupLimit < total {
		total = m.CgroupLimit
		avail = min(avail, total)
	}
	ch := Check{Section: "box", Name: "memory", Verdict: Pass,
		Value: fmt.Sprintf("%s available of %s; about %s needed for %s", gib(avail), gib(total), gib(need), plural(workers, "worker"))}
	switch {
	case avail < need:
		ch.Verdict = Fail
		ch.Fix = fmt.Sprintf("set recognizer.workers to %d or fewer, stop other services, or use a box with more memory", max(1, int((int64(avail)-memBase)/memPerWorker)))
	case float64(avail) < warnMemHeadroom*float64(need):
		ch.Verdict = Warn
		ch.Fix = "little headroom: a larger gallery or another camera may push the box into swap; stop other services or lower recognizer.workers"
	}
	return ch
}

func diskCheck(d hw.Disk) Check {
	ch := Check{Section: "box", Name: "disk free", Verdict: Pass, Value: fmt.Sprintf("%s free of %s at %s", gib(d.Free), gib(d.Total), d.Path)}
	switch {
	case d.Free < minDiskFree:
		ch.Verdict = Fail
		ch.Fix = "free space or move store.path to a larger disk: with under 1 GiB the store fills and new sightings wait in memory"
	case d.Free < warnDiskFree:
		ch.Verdict = Warn
		ch.Fix = "under 8 GiB free: lower store.retention_days or use a larger disk, or sightings will fill it"
	}
	return ch
}

func writeCheck(w hw.WriteSpeed) Check {
	ch := Check{Section: "box", Name: "write speed", Verdict: Pass,
		Value: fmt.Sprintf("%.1f MB/s with fsync (%s written, slowest fsync %s)", w.BytesPerSec/1e6, mib(uint64(w.Bytes)), w.FsyncMax.Round(time.Millisecond))}
	switch {
	case w.BytesPerSec < minWriteRate:
		ch.Verdict = Fail
		ch.Fix = "storage this slow stalls the store's commits: replace the SD card with an industrial (A2) card or use an SSD"
	case w.BytesPerSec < warnWriteRate || w.FsyncMax > warnFsync:
		ch.Verdict = Warn
		ch.Fix = "slow or stalling storage: alerts may reach the guard post late under load; an industrial SD card or an SSD fixes it"
	}
	return ch
}

// clockCheck reads the kernel's NTP state and, when a server is given,
// measures the offset against it. Events carry this clock's time; the
// region refuses times far in the future and retention runs on it.
func (t *tester) clockCheck(ctx context.Context, r *Report) Check {
	ch := Check{Section: "box", Name: "clock", Verdict: Pass}
	now := t.now()
	if now.Year() < 2020 {
		ch.Verdict = Fail
		ch.Value = "clock reads " + now.UTC().Format(time.RFC3339)
		ch.Fix = "the clock is unset: the region refuses every event; enable NTP (systemd-timesyncd or chrony) or set the RTC"
		return ch
	}
	var parts []string
	cs, err := hw.ReadClockSync()
	if err == nil {
		r.Box.Clock = &cs
		if cs.Synced {
			parts = append(parts, fmt.Sprintf("synchronised by the kernel (max error %s)", cs.MaxError.Round(time.Millisecond)))
		} else {
			parts = append(parts, "not synchronised")
		}
	} else {
		parts = append(parts, "sync state unreadable: "+err.Error())
	}
	if t.opt.NTPServer != "" {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		off, rtt, err := hw.SNTPOffset(ctx, t.opt.NTPServer)
		cancel()
		r.Box.NTPServer = t.opt.NTPServer
		if err != nil {
			parts = append(parts, fmt.Sprintf("%s: %v", t.opt.NTPServer, err))
			ch.Verdict = Warn
			ch.Fix = fmt.Sprintf("the time server %s did not answer over UDP port 123: open it in the firewall or name a reachable one", t.opt.NTPServer)
		} else {
			r.Box.NTPOffset = off
			parts = append(parts, fmt.Sprintf("offset %s against %s (rtt %s)", fmtOffset(off), t.opt.NTPServer, rtt.Round(time.Millisecond)))
			switch a := time.Duration(math.Abs(float64(off))); {
			case a > failClockOffset:
				ch.Verdict = Fail
				ch.Fix = "the clock is off by more than 10 minutes: the region refuses events from the future and sorts the rest wrongly; enable NTP"
			case a > warnClockError:
				ch.Verdict = Warn
				ch.Fix = "the clock is off by more than a second: sightings from different boxes will not line up; enable NTP (systemd-timesyncd or chrony)"
			}
		}
	}
	if r.Box.Clock != nil && !r.Box.Clock.Synced && ch.Verdict == Pass {
		ch.Verdict = Warn
		ch.Fix = "the kernel clock is not NTP-synchronised: enable systemd-timesyncd or chrony so event times stay right"
	}
	ch.Value = strings.Join(parts, "; ")
	return ch
}

func fmtOffset(d time.Duration) string {
	if d >= 0 {
		return "+" + d.Round(time.Millisecond).String()
	}
	return d.Round(time.Millisecond).String()
}

func tempCheck(ts []hw.Temperature) Check {
	ch := Check{Section: "box", Name: "temperature", Verdict: Pass}
	if len(ts) == 0 {
		ch.Value = "no sensor exposed by this board"
		return ch
	}
	hot := ts[0]
	for _, s := range ts[1:] {
		if s.Celsius > hot.Celsius {
			hot = s
		}
	}
	ch.Value = fmt.Sprintf("hottest %.1f °C (%s) of %d sensors", hot.Celsius, hot.Sensor, len(ts))
	for _, s := range ts {
		v := Pass
		switch {
		case s.Celsius >= failTemp, s.Critical > 0 && s.Celsius >= s.Critical-tempCriticalGap/2:
			v = Fail
		case s.Celsius >= warnTemp, s.Critical > 0 && s.Celsius >= s.Critical-tempCriticalGap:
			v = Warn
		}
		ch.Verdict = worst(ch.Verdict, v)
	}
	switch ch.Verdict {
	case Fail:
		ch.Fix = "the box is about to throttle or shut down: fit a heatsink or fan, ventilate the enclosure, keep it out of the sun"
	case Warn:
		ch.Fix = "running hot: under the recognition load the CPU will throttle; improve cooling (heatsink, fan, ventilated enclosure)"
	}
	return ch
}

func gib(b uint64) string {
	if b >= 1<<30 {
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	}
	return mib(b)
}

func mib(b uint64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// dataDir is where the store lives: its free space and write speed are
// the ones that matter.
func (t *tester) dataDir() string {
	return filepath.Dir(t.cfg.Store.Path)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// tempUnderLoad reads the sensors again right after the cameras were
// decoded and searched for faces: an enclosure that is fine at rest may
// not be under the daemon's load.
func (t *tester) tempUnderLoad(r *Report) {
	streamed := false
	for _, c := range r.Cameras {
		streamed = streamed || c.Streaming
	}
	if !streamed || len(r.Box.Temperatures) == 0 {
		return
	}
	temps, err := hw.ReadTemperatures(t.opt.Roots)
	if err != nil || len(temps) == 0 {
		return
	}
	r.Box.TemperaturesLoaded = temps
	ch := tempCheck(temps)
	ch.Name = "temperature under load"
	ch.Value = strings.Replace(ch.Value, "hottest", "after the camera test, hottest", 1)
	r.add(ch)
}
