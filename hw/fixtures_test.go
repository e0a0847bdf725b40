package hw

import (
	"fmt"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/dozor-edge/dozor/internal/testenv"
)

func fixture(name string) Roots {
	dir := filepath.Join("testdata", name)
	return Roots{Proc: filepath.Join(dir, "proc"), Sys: filepath.Join(dir, "sys")}
}

const (
	rpi4Features   = "fp asimd evtstrm crc32 cpuid"
	rk3588Features = "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp"
	orinFeatures   = rk3588Features + " uscat ilrcpc flagm paca pacg"
	n1Features     = rk3588Features + " ssbs"
)

func TestReadCPUFixtures(t *testing.T) {
	cases := []struct {
		name     string
		want     CPU
		features string // space-separated; "" to check only the count
		nFeat    int
		wantErr  string
	}{
		{
			name:  "x86-vm",
			want:  CPU{Arch: "amd64", Model: "AMD EPYC", Cores: 2, AVX2: true, FMA: true, AVX512: true},
			nFeat: 105,
		},
		{
			name:  "x86-docker-cgroup1",
			want:  CPU{Arch: "amd64", Model: "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz", Cores: 2, AVX2: true, FMA: true, AVX512: true, CgroupCPUs: 2},
			nFeat: 106,
		},
		{
			name:     "rpi4",
			want:     CPU{Arch: "arm64", Model: "Raspberry Pi 4 Model B Rev 1.4 (BCM2711, 4x Cortex-A72)", Cores: 4, NEON: true, FMA: true, MaxMHz: 1800},
			features: rpi4Features,
		},
		{
			name:     "rk3588-rock5b",
			want:     CPU{Arch: "arm64", Model: "Radxa ROCK 5B (RK3588, 4x Cortex-A55 + 4x Cortex-A76)", Cores: 8, NEON: true, FMA: true, MaxMHz: 2400},
			features: rk3588Features,
		},
		{
			name:     "jetson-orin-nano-docker",
			want:     CPU{Arch: "arm64", Model: "6x Cortex-A78AE", Cores: 6, NEON: true, FMA: true, MaxMHz: 1510.4, CgroupCPUs: 1.5},
			features: orinFeatures,
		},
		{
			name:     "arm64-container",
			want:     CPU{Arch: "arm64", Model: "4x Neoverse-N1", Cores: 4, NEON: true, FMA: true},
			features: n1Features,
		},
		{
			// The broken sensors do not concern the CPU.
			name:     "broken-garbage-temp",
			want:     CPU{Arch: "arm64", Model: "4x Cortex-A72", Cores: 4, NEON: true, FMA: true},
			features: rpi4Features,
		},
		{name: "broken-empty-cpuinfo", wantErr: "broken-empty-cpuinfo/proc/cpuinfo: no processor entries"},
		{name: "broken-cpuinfo-garbage", wantErr: `broken-cpuinfo-garbage/proc/cpuinfo: processor "zero" is not a CPU number`},
		{name: "broken-cgroup", wantErr: `broken-cgroup/sys/fs/cgroup/cpu.max: want "max" or "QUOTA PERIOD", got "1.5 cores"`},
		{name: "broken-cpu-online", wantErr: `broken-cpu-online/sys/devices/system/cpu/online: bad CPU list "0-3,7-5"`},
		{name: "no-such-board", wantErr: "no-such-board/proc/cpuinfo: no such file or directory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ReadCPU(fixture(c.name))
			if !testenv.ErrAsWanted(t, err, c.wantErr) {
				return
			}
			feats := got.Features
			got.Features = nil
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("ReadCPU =\n %+v\nwant\n %+v", got, c.want)
			}
			if c.features != "" {
				if s := strings.Join(feats, " "); s != c.features {
					t.Errorf("Features = %q, want %q", s, c.features)
				}
			} else if len(feats) != c.nFeat {
				t.Errorf("%d features, want %d", len(feats), c.nFeat)
			}
		})
	}
}

func TestReadMemoryFixtures(t *testing.T) {
	const k = 1024
	cases := []struct {
		name    string
		want    Memory
		wantErr string
	}{
		{name: "x86-vm", want: Memory{Total: 24684084 * k, Available: 23584636 * k}},
		{name: "x86-docker-cgroup1", want: Memory{Total: 7862348 * k, Available: 6902456 * k, CgroupLimit: 1 << 30}},
		{name: "rpi4", want: Memory{Total: 7997904 * k, Available: 7420312 * k}},
		{name: "rk3588-rock5b", want: Memory{Total: 16102404 * k, Available: 15184672 * k}},
		{name: "jetson-orin-nano-docker", want: Memory{Total: 7619460 * k, Available: 6211832 * k, CgroupLimit: 2 << 30}},
		{name: "arm64-container", want: Memory{Total: 16015012 * k, Available: 15208716 * k}},
		{name: "broken-missing-meminfo", wantErr: "broken-missing-meminfo/proc/meminfo: no such file or directory"},
		{name: "broken-meminfo-garbage", wantErr: `broken-meminfo-garbage/proc/meminfo: MemTotal: want "N kB", got "lots kB"`},
		{name: "broken-cgroup", wantErr: `broken-cgroup/sys/fs/cgroup/memory.max: want "max" or a byte count, got "unlimited"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ReadMemory(fixture(c.name))
			if !testenv.ErrAsWanted(t, err, c.wantErr) {
				return
			}
			if got != c.want {
				t.Errorf("ReadMemory = %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestReadTemperaturesFixtures(t *testing.T) {
	zone := func(n, typ string, c, crit float64) Temperature {
		return Temperature{Sensor: typ, Path: "sys/class/thermal/thermal_zone" + n + "/temp", Celsius: c, Critical: crit}
	}
	cases := []struct {
		name    string
		want    []Temperature
		wantErr []string
	}{
		{name: "x86-vm", want: []Temperature{}},
		{name: "arm64-container", want: []Temperature{}},
		{
			// hwmon0 mirrors thermal_zone0 and is not listed twice.
			name: "rpi4",
			want: []Temperature{zone("0", "cpu-thermal", 47.712, 110)},
		},
		{
			name: "rk3588-rock5b",
			want: []Temperature{
				zone("0", "soc-thermal", 42.592, 115),
				zone("1", "bigcore0-thermal", 42.592, 115),
				zone("2", "bigcore1-thermal", 43.515, 115),
				zone("3", "littlecore-thermal", 42.592, 115),
				zone("4", "center-thermal", 41.669, 115),
				zone("5", "gpu-thermal", 41.669, 115),
				zone("6", "npu-thermal", 41.669, 115),
				{Sensor: "nvme/Composite", Path: "sys/class/hwmon/hwmon8/temp1_input", Celsius: 38.85, Critical: 84.85},
				{Sensor: "nvme/Sensor 1", Path: "sys/class/hwmon/hwmon8/temp2_input", Celsius: 38.85},
				{Sensor: "nvme/Sensor 2", Path: "sys/class/hwmon/hwmon8/temp3_input", Celsius: 41.85},
			},
		},
		{
			// The power-gated vision accelerators read -256 °C and are
			// left out; the rest of the board still reports.
			name: "jetson-orin-nano-docker",
			want: []Temperature{
				zone("0", "cpu-thermal", 47.843, 102.5),
				zone("1", "gpu-thermal", 46.5, 102.5),
				zone("5", "soc0-thermal", 46.968, 102.5),
				zone("6", "soc1-thermal", 47.187, 102.5),
				zone("7", "soc2-thermal", 46.312, 102.5),
				zone("8", "tj-thermal", 47.843, 104.5),
			},
		},
		{
			name: "broken-garbage-temp",
			wantErr: []string{
				`broken-garbage-temp/sys/class/thermal/thermal_zone0/temp: not a temperature in millidegrees: "N/A"`,
				`broken-garbage-temp/sys/class/thermal/thermal_zone1/temp: implausible temperature -273.15 °C`,
				`broken-garbage-temp/sys/class/hwmon/hwmon0/temp1_input: not a temperature in millidegrees: ""`,
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := fixture(c.name)
			got, err := ReadTemperatures(r)
			if c.wantErr != nil {
				if err == nil {
					t.Fatalf("no error; got %+v", got)
				}
				for _, w := range c.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("err = %v\nwant it to contain %q", err, w)
					}
				}
				if len(got) != 0 {
					t.Errorf("got %+v with the error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Fatal("nil slice; want an empty one when there are no sensors")
			}
			root := filepath.Dir(r.Sys) + string(filepath.Separator)
			for i := range got {
				got[i].Path = filepath.ToSlash(strings.TrimPrefix(got[i].Path, root))
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("ReadTemperatures =\n %+v\nwant\n %+v", got, c.want)
			}
		})
	}
}

// writeTree builds a small /proc + /sys tree for cases not worth a
// fixture directory.
func writeTree(t *testing.T, files map[string]string) Roots {
	t.Helper()
	dir := t.TempDir()
	testenv.WriteFiles(t, dir, files)
	return Roots{Proc: filepath.Join(dir, "proc"), Sys: filepath.Join(dir, "sys")}
}

func TestReadMemoryVariants(t *testing.T) {
	cases := []struct {
		name    string
		files   map[string]string
		want    Memory
		wantErr string
	}{
		{
			// Kernels before 3.14 have no MemAvailable.
			name:  "old kernel",
			files: map[string]string{"proc/meminfo": "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 20 kB\nCached: 300 kB\n"},
			want:  Memory{Total: 1000 << 10, Available: 420 << 10},
		},
		{
			name:  "cgroup v1 unlimited",
			files: map[string]string{"proc/meminfo": "MemTotal: 1000 kB\nMemAvailable: 500 kB\n", "sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n"},
			want:  Memory{Total: 1000 << 10, Available: 500 << 10},
		},
		{
			name:    "no MemTotal",
			files:   map[string]string{"proc/meminfo": "MemFree: 100 kB\n"},
			wantErr: "meminfo: no MemTotal",
		},
		{
			name:    "available above total",
			files:   map[string]string{"proc/meminfo": "MemTotal: 100 kB\nMemAvailable: 200 kB\n"},
			wantErr: "meminfo: MemAvailable 204800 exceeds MemTotal 102400",
		},
		{
			name:    "overflow",
			files:   map[string]string{"proc/meminfo": "MemTotal: 18446744073709551615 kB\n"},
			wantErr: "MemTotal: 18446744073709551615 kB overflows",
		},
		{
			name:    "zero memory.max",
			files:   map[string]string{"proc/meminfo": "MemTotal: 100 kB\n", "sys/fs/cgroup/memory.max": "0\n"},
			wantErr: `memory.max: want "max" or a byte count, got "0"`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ReadMemory(writeTree(t, c.files))
			if !testenv.ErrAsWanted(t, err, c.wantErr) {
				return
			}
			if got != c.want {
				t.Errorf("ReadMemory = %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestReadCPUVariants(t *testing.T) {
	a72 := "processor\t: 0\nFeatures\t: fp asimd\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU part\t: 0xd08\n\n"
	cases := []struct {
		name    string
		files   map[string]string
		want    CPU
		wantErr string
	}{
		{
			// A plain file where the cpu directory should be only hides
			// what is under it, as if the board had no such files.
			name: "cgroup v2 bare quota",
			files: map[string]string{
				"proc/cpuinfo":           a72,
				"sys/fs/cgroup/cpu.max":  "50000\n",
				"sys/devices/system/cpu": "",
			},
			want: CPU{Arch: "arm64", Model: "1x Cortex-A72", Cores: 1, Features: []string{"fp", "asimd"}, NEON: true, FMA: true, CgroupCPUs: 0.5},
		},
		{
			name: "online list with gaps",
			files: map[string]string{
				"proc/cpuinfo":                  a72,
				"sys/devices/system/cpu/online": "0-3,6,8-11\n",
			},
			want: CPU{Arch: "arm64", Model: "1x Cortex-A72", Cores: 9, Features: []string{"fp", "asimd"}, NEON: true, FMA: true},
		},
		{
			name: "device tree through /sys wins",
			files: map[string]string{
				"proc/cpuinfo":                                         a72,
				"sys/firmware/devicetree/base/model":                   "Board A\x00",
				"proc/device-tree/model":                               "Board B\x00",
				"sys/firmware/devicetree/base/compatible":              "vendor,board-a\x00",
				"sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq": "1500000\n",
			},
			want: CPU{Arch: "arm64", Model: "Board A (1x Cortex-A72)", Cores: 1, Features: []string{"fp", "asimd"}, NEON: true, FMA: true, MaxMHz: 1500},
		},
		{
			name: "device-tree model with a control character",
			files: map[string]string{
				"proc/cpuinfo":                       a72,
				"sys/firmware/devicetree/base/model": "Board\x1b[2J\x00",
			},
			wantErr: `devicetree/base/model: not a device-tree string: "Board\x1b[2J"`,
		},
		{
			name: "implausible cpufreq",
			files: map[string]string{
				"proc/cpuinfo": a72,
				"sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq": "0\n",
			},
			wantErr: "cpu0/cpufreq/cpuinfo_max_freq: implausible frequency 0 kHz",
		},
		{
			name: "garbage cpufreq",
			files: map[string]string{
				"proc/cpuinfo": a72,
				"sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq": "fast\n",
			},
			wantErr: `cpu0/cpufreq/cpuinfo_max_freq: not an integer: "fast"`,
		},
		{
			name: "cgroup v1 zero quota",
			files: map[string]string{
				"proc/cpuinfo":                        a72,
				"sys/fs/cgroup/cpu/cpu.cfs_quota_us":  "0\n",
				"sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n",
			},
			wantErr: "cpu.cfs_quota_us: quota 0 over period 100000",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ReadCPU(writeTree(t, c.files))
			if !testenv.ErrAsWanted(t, err, c.wantErr) {
				return
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("ReadCPU =\n %+v\nwant\n %+v", got, c.want)
			}
		})
	}
}

func TestReadTemperaturesPartial(t *testing.T) {
	// One good sensor is enough: the garbage one is dropped, not reported.
	r := writeTree(t, map[string]string{
		"sys/class/thermal/thermal_zone0/type":              "cpu-thermal\n",
		"sys/class/thermal/thermal_zone0/temp":              "51000\n",
		"sys/class/thermal/thermal_zone0/trip_point_0_type": "passive\n",
		"sys/class/thermal/thermal_zone0/trip_point_0_temp": "80000\n",
		"sys/class/thermal/thermal_zone0/trip_point_1_type": "critical\n",
		"sys/class/thermal/thermal_zone0/trip_point_1_temp": "hot\n",
		"sys/class/thermal/thermal_zone10/type":             "gpu-thermal\n",
		"sys/class/thermal/thermal_zone10/temp":             "49000\n",
		"sys/class/thermal/thermal_zone2/temp":              "bogus\n",
		"sys/class/thermal/cooling_device0/type":            "fan\n",
		"sys/class/hwmon/hwmon3/name":                       "coretemp\n",
		"sys/class/hwmon/hwmon3/temp1_input":                "55000\n",
		"sys/class/hwmon/hwmon3/temp1_label":                "Package id 0\n",
		"sys/class/hwmon/hwmon3/temp1_crit":                 "100000\n",
		"sys/class/hwmon/hwmon3/temp10_input":               "53000\n",
		"sys/class/hwmon/hwmon3/temp2_input":                "54000\n",
		"sys/class/hwmon/hwmon3/temp2_label":                "Core 0\n",
		"sys/class/hwmon/hwmon3/temp2_crit":                 "garbage\n",
		"sys/class/hwmon/hwmon3/in0_input":                  "1200\n",
	})
	got, err := ReadTemperatures(r)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range got {
		names = append(names, fmt.Sprintf("%s=%g/%g", s.Sensor, s.Celsius, s.Critical))
	}
	want := "cpu-thermal=51/0 gpu-thermal=49/0 coretemp/Package id 0=55/100 coretemp/Core 0=54/0 coretemp/temp10=53/0"
	if s := strings.Join(names, " "); s != want {
		t.Errorf("got  %s\nwant %s", s, want)
	}
}

func TestReadThisMachine(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc and /sys")
	}
	r := DefaultRoots()
	cpu, err := ReadCPU(r)
	if err != nil {
		t.Fatal(err)
	}
	// A 386 binary on an x86-64 kernel still sees long mode in the flags.
	if cpu.Arch != runtime.GOARCH && !(cpu.Arch == "amd64" && runtime.GOARCH == "386") {
		t.Errorf("Arch %q on a %s build", cpu.Arch, runtime.GOARCH)
	}
	if cpu.Cores < 1 {
		t.Errorf("Cores %d", cpu.Cores)
	}
	mem, err := ReadMemory(r)
	if err != nil {
		t.Fatal(err)
	}
	// A sensor that fails on a developer's laptop is not this package's
	// fault; it is only reported.
	temps, err := ReadTemperatures(Roots{})
	t.Logf("%s %s, %d cores, %.0f MHz, cgroup %.2f CPUs; memory %+v; temperatures %+v (%v)",
		cpu.Arch, cpu.Model, cpu.Cores, cpu.MaxMHz, cpu.CgroupCPUs, mem, temps, err)
}
