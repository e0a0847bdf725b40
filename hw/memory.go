package hw

import (
	"fmt"
	"strconv"
	"strings"
)

// Memory is in bytes.
type Memory struct {
	// Total and Available are MemTotal and MemAvailable from meminfo.
	// Kernels before 3.14 lack MemAvailable; it is then estimated as
	// MemFree + Buffers + Cached, which the kernel's own estimate replaced.
	Total, Available uint64
	// CgroupLimit is the memory limit of the cgroup this tree shows
	// (cgroup v2 memory.max, else v1 memory.limit_in_bytes); 0 when
	// unlimited or absent. A container may be killed well before Available
	// runs out.
	CgroupLimit uint64
}

// ReadMemory reads r's meminfo and cgroup memory limit.
func ReadMemory(r Roots) (Memory, error) {
	path := r.proc("meminfo")
	data, err := readFile(path)
	if err != nil {
		return Memory{}, err
	}
	fields := map[string]uint64{}
	for line := range strings.Lines(string(data)) {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch key {
		case "MemTotal", "MemAvailable", "MemFree", "Buffers", "Cached":
		default:
			continue
		}
		num, unit, _ := strings.Cut(strings.TrimSpace(val), " ")
		n, err := strconv.ParseUint(num, 10, 64)
		if err != nil || (unit != "kB" && unit != "") {
			return Memory{}, fmt.Errorf("%s: %s: want \"N kB\", got %q", path, key, clip(strings.TrimSpace(val)))
		}
		if unit == "kB" {
			if n > (1<<64-1)/1024 {
				return Memory{}, fmt.Errorf("%s: %s: %d kB overflows", path, key, n)
			}
			n *= 1024
		}
		fields[key] = n
	}
	m := Memory{Total: fields["MemTotal"]}
	if m.Total == 0 {
		return Memory{}, fmt.Errorf("%s: no MemTotal", path)
	}
	if avail, ok := fields["MemAvailable"]; ok {
		m.Available = avail
	} else {
		m.Available = fields["MemFree"] + fields["Buffers"] + fields["Cached"]
	}
	if m.Available > m.Total {
		return Memory{}, fmt.Errorf("%s: MemAvailable %d exceeds MemTotal %d", path, m.Available, m.Total)
	}
	if m.CgroupLimit, err = readCgroupMemory(r); err != nil {
		return Memory{}, err
	}
	return m, nil
}

func readCgroupMemory(r Roots) (uint64, error) {
	path := r.sys("fs", "cgroup", "memory.max")
	s, err := readAttr(path)
	if notExist(err) {
		// cgroup v1 says "unlimited" with the largest page-aligned int64.
		path = r.sys("fs", "cgroup", "memory", "memory.limit_in_bytes")
		if s, err = readAttr(path); notExist(err) {
			return 0, nil
		}
	}
	if err != nil {
		return 0, err
	}
	if s == "max" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%s: want \"max\" or a byte count, got %q", path, clip(s))
	}
	if n >= 1<<62 {
		return 0, nil
	}
	return n, nil
}
