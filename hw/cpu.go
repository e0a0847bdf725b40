package hw

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CPU describes the processor as the inference code cares about it: which
// SIMD paths it may take and how many threads it may run.
type CPU struct {
	// Arch is in runtime.GOARCH spelling (amd64, 386, arm64, arm, riscv64),
	// read from cpuinfo rather than the running binary so that fixtures
	// from another architecture read correctly. It is what the reading
	// process may use: a 64-bit ARM kernel shows 32-bit processes the
	// 32-bit feature names (so arm), while x86 shows every process the
	// CPU's flags (so amd64 even for a 386 binary).
	Arch string
	// Model is the x86 "model name"; on ARM the board and SoC from the
	// device tree plus the core types, e.g. "Raspberry Pi 4 Model B Rev 1.4
	// (BCM2711, 4x Cortex-A72)".
	Model string
	// Cores counts online logical CPUs.
	Cores int
	// Features is the flags (x86) or Features (ARM) line, intersected over
	// all processors so that a feature only some cores have is not used.
	Features []string
	// NEON is Advanced SIMD: asimd on arm64, neon on 32-bit ARM.
	NEON bool
	// AVX2, FMA and AVX512 (avx512f) are the x86 flags. FMA is also set on
	// arm64 with asimd, where fused multiply-add is part of the base ISA,
	// and on 32-bit ARM with vfpv4.
	AVX2, FMA, AVX512 bool
	// MaxMHz is the highest cpufreq cpuinfo_max_freq of any CPU (the big
	// cores on big.LITTLE); 0 when the kernel has no cpufreq driver, as in
	// most VMs and containers.
	MaxMHz float64
	// CgroupCPUs is the CPU quota of the cgroup this tree shows (cgroup v2
	// cpu.max, else v1 cpu.cfs_quota_us), in CPUs; 0 when unlimited or
	// absent.
	CgroupCPUs float64
}

// ReadCPU reads r's cpuinfo, device tree, cpufreq and cgroup files. Only
// cpuinfo is required; the others fill their fields when present.
func ReadCPU(r Roots) (CPU, error) {
	path := r.proc("cpuinfo")
	data, err := readFile(path)
	if err != nil {
		return CPU{}, err
	}
	info, err := parseCPUInfo(data)
	if err != nil {
		return CPU{}, fmt.Errorf("%s: %w", path, err)
	}
	c := CPU{
		Arch:     info.arch,
		Features: info.features,
		Cores:    info.processors,
	}
	has := func(f string) bool { return slices.Contains(info.features, f) }
	switch info.arch {
	case "amd64", "386":
		c.AVX2, c.FMA, c.AVX512 = has("avx2"), has("fma"), has("avx512f")
		c.Model = info.modelName
		if c.Model == "" {
			c.Model = info.vendor
		}
	case "arm64":
		c.NEON = has("asimd")
		c.FMA = c.NEON
	case "arm":
		c.NEON = has("neon")
		c.FMA = has("vfpv4")
	case "riscv64", "riscv":
		c.Model = info.modelName
	}
	if info.arch == "arm64" || info.arch == "arm" {
		if c.Model, err = armModel(r, info); err != nil {
			return CPU{}, err
		}
	}

	online := r.sys("devices", "system", "cpu", "online")
	if s, err := readAttr(online); err == nil {
		n, err := parseCPUList(s)
		if err != nil {
			return CPU{}, fmt.Errorf("%s: %w", online, err)
		}
		c.Cores = n
	} else if !notExist(err) {
		return CPU{}, err
	}

	if c.MaxMHz, err = readMaxMHz(r); err != nil {
		return CPU{}, err
	}
	if c.CgroupCPUs, err = readCgroupCPUs(r); err != nil {
		return CPU{}, err
	}
	return c, nil
}

// armModel names an ARM board the way a person would look it up: the
// device-tree model (what the vendor prints on the box), the SoC from the
// device-tree compatible list, and the core types from cpuinfo.
func armModel(r Roots, info cpuInfo) (string, error) {
	// The /sys copy comes first: /proc/device-tree is a compatibility link
	// into it, and an absolute link copied into a fixture would read the
	// host's tree instead of the fixture's.
	board, err := readDTString(r, "model")
	if err != nil {
		return "", err
	}
	if board == "" {
		board = info.boardModel
	}
	if board == "" {
		board = info.hardware
	}
	compat, err := readDTString(r, "compatible")
	if err != nil {
		return "", err
	}
	var soc string
	if list := strings.Split(compat, "\x00"); compat != "" {
		// The list runs from the most specific (the board) to the most
		// generic, which is the SoC.
		last := list[len(list)-1]
		if _, name, ok := strings.Cut(last, ","); ok && name != "" && len(list) > 1 {
			soc = strings.ToUpper(name)
		}
	}
	if soc != "" && strings.Contains(strings.ToUpper(board), soc) {
		soc = ""
	}
	var detail []string
	if soc != "" {
		detail = append(detail, soc)
	}
	if cores := info.coreSummary(); cores != "" {
		detail = append(detail, cores)
	}
	switch {
	case board == "" && len(detail) == 0:
		return info.modelName, nil
	case board == "":
		return strings.Join(detail, ", "), nil
	case len(detail) == 0:
		return board, nil
	}
	return board + " (" + strings.Join(detail, ", ") + ")", nil
}

// readDTString reads a device-tree string property; "" when the board has
// no device tree (x86, ACPI-only ARM servers, most containers). Lists keep
// their inner NULs as separators.
func readDTString(r Roots, prop string) (string, error) {
	for _, path := range []string{
		r.sys("firmware", "devicetree", "base", prop),
		r.proc("device-tree", prop),
	} {
		b, err := readFile(path)
		if notExist(err) {
			continue
		}
		if err != nil {
			return "", err
		}
		s := strings.TrimRight(string(b), "\x00\n")
		if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool {
			return r != 0 && !unicode.IsPrint(r)
		}) {
			return "", fmt.Errorf("%s: not a device-tree string: %q", path, clip(s))
		}
		return strings.TrimSpace(s), nil
	}
	return "", nil
}

func readMaxMHz(r Roots) (float64, error) {
	dir := r.sys("devices", "system", "cpu")
	ents, err := os.ReadDir(dir)
	if notExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var maxKHz int64
	for _, e := range ents {
		if !isIndexed(e.Name(), "cpu") {
			continue
		}
		path := r.sys("devices", "system", "cpu", e.Name(), "cpufreq", "cpuinfo_max_freq")
		khz, err := readInt(path)
		if notExist(err) {
			continue
		}
		if err != nil {
			return 0, err
		}
		if khz <= 0 || khz > 100e6 {
			return 0, fmt.Errorf("%s: implausible frequency %d kHz", path, khz)
		}
		maxKHz = max(maxKHz, khz)
	}
	return float64(maxKHz) / 1000, nil
}

// readCgroupCPUs reads the CPU quota. Docker and Kubernetes set it with
// --cpus / limits.cpu; a box that thinks it has 4 cores but may use 1.5
// must size its worker pool to the quota.
func readCgroupCPUs(r Roots) (float64, error) {
	path := r.sys("fs", "cgroup", "cpu.max")
	s, err := readAttr(path)
	if err == nil {
		quota, period, ok := strings.Cut(s, " ")
		if quota == "max" {
			return 0, nil
		}
		if !ok {
			// The kernel accepts a bare quota and keeps its default period.
			period = "100000"
		}
		q, err1 := strconv.ParseUint(quota, 10, 64)
		p, err2 := strconv.ParseUint(period, 10, 64)
		if err1 != nil || err2 != nil || q == 0 || p == 0 {
			return 0, fmt.Errorf("%s: want \"max\" or \"QUOTA PERIOD\", got %q", path, clip(s))
		}
		return float64(q) / float64(p), nil
	}
	if !notExist(err) {
		return 0, err
	}
	// cgroup v1, still the default on older Jetson (L4T r32) images.
	qpath := r.sys("fs", "cgroup", "cpu", "cpu.cfs_quota_us")
	q, err := readInt(qpath)
	if notExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if q < 0 {
		return 0, nil
	}
	ppath := r.sys("fs", "cgroup", "cpu", "cpu.cfs_period_us")
	p, err := readInt(ppath)
	if err != nil {
		return 0, err
	}
	if q == 0 || p <= 0 {
		return 0, fmt.Errorf("%s: quota %d over period %d", qpath, q, p)
	}
	return float64(q) / float64(p), nil
}

// isIndexed reports whether name is prefix followed by a decimal index, as
// in cpu3 or thermal_zone12 (and not cpufreq or cpuidle).
func isIndexed(name, prefix string) bool {
	_, ok := indexOf(name, prefix)
	return ok
}

func indexOf(name, prefix string) (int, bool) {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok || rest == "" || len(rest) > 6 {
		return 0, false
	}
	for _, c := range rest {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, _ := strconv.Atoi(rest)
	return n, true
}

// cpuInfo is what parseCPUInfo takes from /proc/cpuinfo.
type cpuInfo struct {
	arch       string
	vendor     string
	modelName  string
	features   []string
	processors int
	cores      []armCore // one per processor entry on ARM
	hardware   string    // "Hardware" line of older ARM kernels
	boardModel string    // "Model" line of Raspberry Pi kernels
}

type armCore struct{ implementer, part uint64 }

var errNoProcessors = errors.New("no processor entries")

// parseCPUInfo reads the x86, ARM and RISC-V layouts of /proc/cpuinfo.
// Unknown lines are skipped (every kernel release adds some); the lines it
// uses must parse.
func parseCPUInfo(data []byte) (cpuInfo, error) {
	var (
		info                     cpuInfo
		x86Flags, armFeat, rvISA bool
		featuresSet              bool
		cpuArch, isa             string
		pendingImpl, pendingPart uint64
		sawImpl, sawPart         bool
	)
	for line := range strings.Lines(string(data)) {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch key {
		case "processor":
			if _, err := strconv.ParseUint(val, 10, 16); err != nil {
				return cpuInfo{}, fmt.Errorf("processor %q is not a CPU number", clip(val))
			}
			info.processors++
			info.cores = append(info.cores, armCore{})
		case "vendor_id":
			if info.vendor == "" {
				info.vendor = val
			}
		case "model name", "uarch":
			if info.modelName == "" {
				info.modelName = val
			}
		case "flags", "Features", "isa":
			switch key {
			case "flags":
				x86Flags = true
			case "Features":
				armFeat = true
			case "isa":
				if !rvISA {
					isa, rvISA = val, true
				}
			}
			f := strings.Fields(val)
			if key == "isa" {
				f = []string{val}
			}
			if !featuresSet {
				info.features, featuresSet = f, true
			} else {
				info.features = slices.DeleteFunc(info.features, func(s string) bool {
					return !slices.Contains(f, s)
				})
			}
		case "CPU implementer", "CPU part":
			v, err := strconv.ParseUint(val, 0, 32)
			if err != nil {
				return cpuInfo{}, fmt.Errorf("%s %q is not a number", key, clip(val))
			}
			if key == "CPU implementer" {
				pendingImpl, sawImpl = v, true
			} else {
				pendingPart, sawPart = v, true
			}
			if n := len(info.cores); n > 0 {
				if key == "CPU implementer" {
					info.cores[n-1].implementer = v
				} else {
					info.cores[n-1].part = v
				}
			}
		case "CPU architecture":
			cpuArch = val
		case "Hardware":
			info.hardware = val
		case "Model":
			info.boardModel = val
		}
	}
	if info.processors == 0 {
		return cpuInfo{}, errNoProcessors
	}
	if info.features == nil {
		info.features = []string{}
	}
	// Kernels before 3.8 printed the ARM identification once after all
	// processor entries; it then describes every core.
	if sawImpl && sawPart {
		for i := range info.cores {
			if info.cores[i] == (armCore{}) {
				info.cores[i] = armCore{pendingImpl, pendingPart}
			}
		}
	}
	has := func(f string) bool { return slices.Contains(info.features, f) }
	switch {
	case x86Flags:
		info.arch = "386"
		if has("lm") {
			info.arch = "amd64"
		}
	case armFeat || cpuArch != "":
		switch {
		case has("asimd") || cpuArch == "AArch64":
			info.arch = "arm64"
		case has("neon") || has("vfp") || has("thumb") || has("half"):
			info.arch = "arm"
		case cpuArch == "8":
			info.arch = "arm64"
		default:
			info.arch = "arm"
		}
	case rvISA:
		isa = strings.ToLower(isa)
		switch {
		case strings.HasPrefix(isa, "rv64"):
			info.arch = "riscv64"
		case strings.HasPrefix(isa, "rv32"):
			info.arch = "riscv"
		default:
			return cpuInfo{}, fmt.Errorf("isa %q is not RISC-V", clip(isa))
		}
	default:
		return cpuInfo{}, errors.New("cannot tell the architecture: no flags, Features or isa line")
	}
	if info.arch != "arm64" && info.arch != "arm" {
		info.cores = nil
	}
	return info, nil
}

// coreSummary counts the core types in the order they appear, so a
// big.LITTLE SoC reads "4x Cortex-A55 + 4x Cortex-A76".
func (info cpuInfo) coreSummary() string {
	var order []armCore
	count := map[armCore]int{}
	for _, c := range info.cores {
		if c == (armCore{}) {
			continue
		}
		if count[c] == 0 {
			order = append(order, c)
		}
		count[c]++
	}
	parts := make([]string, 0, len(order))
	for _, c := range order {
		parts = append(parts, fmt.Sprintf("%dx %s", count[c], c.name()))
	}
	return strings.Join(parts, " + ")
}

// name decodes MIDR implementer and part numbers for the cores found on
// the boards this appliance runs on; others print as numbers, which is
// still enough to look them up.
func (c armCore) name() string {
	if n, ok := armParts[c]; ok {
		return n
	}
	vendor, ok := armImplementers[c.implementer]
	if !ok {
		vendor = fmt.Sprintf("implementer %#x", c.implementer)
	}
	return fmt.Sprintf("%s part %#x", vendor, c.part)
}

var armImplementers = map[uint64]string{
	0x41: "ARM",
	0x42: "Broadcom",
	0x43: "Cavium",
	0x4e: "NVIDIA",
	0x51: "Qualcomm",
	0x61: "Apple",
	0xc0: "Ampere",
}

var armParts = map[armCore]string{
	{0x41, 0xb76}: "ARM1176",
	{0x41, 0xc07}: "Cortex-A7",
	{0x41, 0xc09}: "Cortex-A9",
	{0x41, 0xc0f}: "Cortex-A15",
	{0x41, 0xd03}: "Cortex-A53",
	{0x41, 0xd04}: "Cortex-A35",
	{0x41, 0xd05}: "Cortex-A55",
	{0x41, 0xd07}: "Cortex-A57",
	{0x41, 0xd08}: "Cortex-A72",
	{0x41, 0xd09}: "Cortex-A73",
	{0x41, 0xd0a}: "Cortex-A75",
	{0x41, 0xd0b}: "Cortex-A76",
	{0x41, 0xd0c}: "Neoverse-N1",
	{0x41, 0xd0d}: "Cortex-A77",
	{0x41, 0xd0e}: "Cortex-A76AE",
	{0x41, 0xd40}: "Neoverse-V1",
	{0x41, 0xd41}: "Cortex-A78",
	{0x41, 0xd42}: "Cortex-A78AE",
	{0x41, 0xd44}: "Cortex-X1",
	{0x41, 0xd46}: "Cortex-A510",
	{0x41, 0xd47}: "Cortex-A710",
	{0x41, 0xd48}: "Cortex-X2",
	{0x41, 0xd49}: "Neoverse-N2",
	{0x41, 0xd4a}: "Neoverse-E1",
	{0x41, 0xd4b}: "Cortex-A78C",
	{0x41, 0xd4f}: "Neoverse-V2",
	{0x41, 0xd80}: "Cortex-A520",
	{0x41, 0xd81}: "Cortex-A720",
	{0x41, 0xd82}: "Cortex-X4",
	{0x4e, 0x004}: "Carmel",
	{0xc0, 0xac3}: "Ampere-1",
}
