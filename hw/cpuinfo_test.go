package hw

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/dozor-edge/dozor/internal/testenv"
)

var cpuInfoCases = []struct {
	name       string
	in         string
	arch       string
	model      string
	features   string
	processors int
	cores      string
	wantErr    string
}{
	{
		// A 32-bit userland on a 64-bit kernel gets the compat layout.
		name: "armhf on arm64 kernel",
		in: "processor\t: 0\nmodel name\t: ARMv8 Processor rev 3 (v8l)\nBogoMIPS\t: 108.00\n" +
			"Features\t: half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt vfpd32 lpae evtstrm crc32\n" +
			"CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n" +
			"Hardware\t: BCM2835\nRevision\t: c03111\nModel\t\t: Raspberry Pi 4 Model B Rev 1.1\n",
		arch: "arm", model: "ARMv8 Processor rev 3 (v8l)",
		features:   "half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt vfpd32 lpae evtstrm crc32",
		processors: 1, cores: "1x Cortex-A72",
	},
	{
		// Kernels before 3.8 print the identification once, after the
		// processor entries.
		name: "old arm kernel",
		in: "Processor\t: ARMv7 Processor rev 5 (v7l)\nprocessor\t: 0\nBogoMIPS\t: 38.40\n\n" +
			"processor\t: 1\nBogoMIPS\t: 38.40\n\n" +
			"Features\t: swp half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt\n" +
			"CPU implementer\t: 0x41\nCPU architecture: 7\nCPU variant\t: 0x0\nCPU part\t: 0xc07\nCPU revision\t: 5\n\n" +
			"Hardware\t: BCM2709\nRevision\t: a01041\n",
		arch: "arm", features: "swp half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt",
		processors: 2, cores: "2x Cortex-A7",
	},
	{
		name: "riscv64",
		in: "processor\t: 0\nhart\t\t: 2\nisa\t\t: rv64imafdc_zicntr_zicsr_zifencei_zihpm\nmmu\t\t: sv39\n" +
			"uarch\t\t: sifive,u74-mc\nmvendorid\t: 0x489\n\nprocessor\t: 1\nhart\t\t: 1\n" +
			"isa\t\t: rv64imafdc_zicntr_zicsr_zifencei_zihpm\nmmu\t\t: sv39\nuarch\t\t: sifive,u74-mc\n\n",
		arch: "riscv64", model: "sifive,u74-mc", features: "rv64imafdc_zicntr_zicsr_zifencei_zihpm", processors: 2,
	},
	{
		name: "i386 without long mode",
		in:   "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Atom(TM) CPU N270   @ 1.60GHz\nflags\t\t: fpu vme de pse tsc sse sse2 ssse3\n",
		arch: "386", model: "Intel(R) Atom(TM) CPU N270   @ 1.60GHz",
		features: "fpu vme de pse tsc sse sse2 ssse3", processors: 1,
	},
	{
		// A flag only some processors report must not be relied on.
		name: "flags differ between processors",
		in: "processor : 0\nvendor_id : GenuineIntel\nflags : fpu lm avx2 avx512f\n\n" +
			"processor : 1\nvendor_id : GenuineIntel\nflags : fpu lm avx2\n\n",
		arch: "amd64", model: "", features: "fpu lm avx2", processors: 2,
	},
	{
		name: "windows line endings and unknown cores",
		in: "processor\t: 0\r\nFeatures\t: fp asimd\r\nCPU implementer\t: 0x51\r\nCPU architecture: 8\r\nCPU part\t: 0x802\r\n\r\n" +
			"processor\t: 1\r\nFeatures\t: fp asimd\r\nCPU implementer\t: 0x99\r\nCPU architecture: 8\r\nCPU part\t: 0x1\r\n",
		arch: "arm64", features: "fp asimd", processors: 2,
		cores: "1x Qualcomm part 0x802 + 1x implementer 0x99 part 0x1",
	},
	{
		name: "arm64 with empty Features",
		in:   "processor\t: 0\nFeatures\t:\nCPU architecture: 8\n",
		arch: "arm64", processors: 1,
	},
	{name: "empty", in: "", wantErr: "no processor entries"},
	{name: "binary garbage", in: "\x00\x01\x02:\xff\xfe", wantErr: "no processor entries"},
	{name: "no architecture lines", in: "processor : 0\nBogoMIPS : 2.00\n", wantErr: "cannot tell the architecture"},
	{name: "bad processor number", in: "processor : -1\nflags : fpu\n", wantErr: `processor "-1" is not a CPU number`},
	{name: "bad part", in: "processor : 0\nFeatures : fp\nCPU part : zz\n", wantErr: `CPU part "zz" is not a number`},
	{name: "not risc-v", in: "processor : 0\nisa : mips32r2\n", wantErr: `isa "mips32r2" is not RISC-V`},
}

func TestParseCPUInfo(t *testing.T) {
	for _, c := range cpuInfoCases {
		t.Run(c.name, func(t *testing.T) {
			info, err := parseCPUInfo([]byte(c.in))
			if !testenv.ErrAsWanted(t, err, c.wantErr) {
				return
			}
			if info.arch != c.arch || info.modelName != c.model || info.processors != c.processors {
				t.Errorf("arch %q model %q processors %d, want %q %q %d",
					info.arch, info.modelName, info.processors, c.arch, c.model, c.processors)
			}
			if f := strings.Join(info.features, " "); f != c.features {
				t.Errorf("features %q, want %q", f, c.features)
			}
			if s := info.coreSummary(); s != c.cores {
				t.Errorf("cores %q, want %q", s, c.cores)
			}
		})
	}
}

func TestParseCPUList(t *testing.T) {
	cases := []struct {
		in      string
		want    int
		wantErr bool
	}{
		{"0", 1, false},
		{"0-3", 4, false},
		{"0-3,6,8-11\n", 9, false},
		{"", 0, true},
		{"3-1", 0, true},
		{"0-", 0, true},
		{"a-b", 0, true},
		{"0,,1", 0, true},
		{"0-70000", 0, true},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			n, err := parseCPUList(c.in)
			if (err != nil) != c.wantErr || n != c.want {
				t.Errorf("parseCPUList(%q) = %d, %v; want %d, error %v", c.in, n, err, c.want, c.wantErr)
			}
		})
	}
}

func FuzzParseCPUInfo(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*", "proc", "cpuinfo"))
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, c := range cpuInfoCases {
		f.Add([]byte(c.in))
	}
	arches := map[string]bool{"amd64": true, "386": true, "arm64": true, "arm": true, "riscv64": true, "riscv": true}
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := parseCPUInfo(data)
		again, err2 := parseCPUInfo(data)
		if (err == nil) != (err2 == nil) || !reflect.DeepEqual(info, again) {
			t.Fatalf("not deterministic: %v / %v", err, err2)
		}
		if err != nil {
			return
		}
		if !arches[info.arch] {
			t.Fatalf("arch %q", info.arch)
		}
		if info.processors < 1 || info.features == nil {
			t.Fatalf("processors %d, features %v", info.processors, info.features)
		}
		if (info.arch == "arm64" || info.arch == "arm") && len(info.cores) != info.processors {
			t.Fatalf("%d cores for %d processors", len(info.cores), info.processors)
		}
		_ = info.coreSummary()
	})
}
