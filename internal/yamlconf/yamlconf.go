// Package yamlconf holds what the daemons' configuration packages share:
// reading one size-capped YAML file, decoding it strictly over compiled-in
// defaults (an unknown key is an error, so a typo never silently falls
// back to a default; one document only), and overriding values from
// environment variables whose names are derived from the yaml tags, so
// the file and the environment can never disagree about what a key is
// called. Each configuration keeps its own types, defaults and
// validation.
package yamlconf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// MaxSize is the usual bound on a configuration file: a config is
// kilobytes, and a multi-megabyte file is a mistake (or an attack on the
// YAML parser).
const MaxSize = 1 << 20

// File describes one daemon's configuration file.
type File[T any] struct {
	// MaxSize bounds the file in bytes (see the constant MaxSize).
	MaxSize int
	// EnvPrefix starts every environment override (see ApplyEnv).
	EnvPrefix string
	// Parse decodes the file over the defaults (usually with Decode).
	Parse func(data []byte) (T, error)
	// Validate checks the result after the environment overrides.
	Validate func(T) error
}

// Load reads the file at path, parses it, applies the overrides env
// reports (none when env is nil) and validates. Every error starts with
// "config".
func (f File[T]) Load(path string, env func(string) (string, bool)) (T, error) {
	var zero T
	data, err := ReadFile(path, f.MaxSize)
	if err != nil {
		return zero, err
	}
	c, err := f.Parse(data)
	if err != nil {
		return zero, fmt.Errorf("config %s: %w", path, err)
	}
	if env != nil {
		if err := ApplyEnv(&c, f.EnvPrefix, env); err != nil {
			return zero, fmt.Errorf("config: %w", err)
		}
	}
	if err := f.Validate(c); err != nil {
		return zero, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// ReadFile reads the file at path, refusing one over maxSize bytes.
func ReadFile(path string, maxSize int) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, int64(maxSize)+1))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if len(data) > maxSize {
		return nil, fmt.Errorf("config %s: larger than %d bytes", path, maxSize)
	}
	return data, nil
}

// Decode decodes one YAML document strictly into v, a pointer to a
// struct already holding the defaults. Empty input leaves v as it is.
// Errors name the key and line: yaml.v3's "field x not found in type T"
// becomes `unknown key "x"`.
func Decode(data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return cleanYAMLError(err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return errors.New("more than one YAML document; a config is a single document")
	}
	return nil
}

// cleanYAMLError rewrites yaml.v3's "field x not found in type
// config.Site" into the key-centred form the rest of the messages use.
func cleanYAMLError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n")
	var lines []string
	for _, l := range strings.Split(msg, "\n") {
		l = strings.TrimSpace(l)
		if i := strings.Index(l, "field "); i >= 0 && strings.Contains(l, " not found in type ") {
			name := strings.TrimSpace(l[i+len("field ") : strings.Index(l, " not found")])
			l = fmt.Sprintf("%s: unknown key %q", strings.TrimSuffix(l[:i], ": "), name)
		}
		lines = append(lines, l)
	}
	return errors.New(strings.Join(lines, "; "))
}

// ApplyEnv sets fields of the struct v points to from environment
// variables named prefix + SECTION_KEY in upper case, with nested sections
// joined by '_' (broker.cluster.name under DOZOR_REGION_ is
// DOZOR_REGION_BROKER_CLUSTER_NAME). Only fields inside a top-level
// section are overridable; a top-level list (of cameras, say) has no
// stable names. A field may be a string, int, float64, time.Duration or
// []string (written comma-separated). The error names the variable and
// the key.
func ApplyEnv(v any, prefix string, env func(string) (string, bool)) error {
	return applyEnv(reflect.ValueOf(v).Elem(), "", prefix, env)
}

func applyEnv(v reflect.Value, path, prefix string, env func(string) (string, bool)) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		key := f.Tag.Get("yaml")
		if path != "" {
			key = path + "." + key
		}
		if f.Type.Kind() == reflect.Struct {
			if err := applyEnv(v.Field(i), key, prefix, env); err != nil {
				return err
			}
			continue
		}
		if path == "" {
			continue // only sections at the top
		}
		name := prefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
		raw, ok := env(name)
		if !ok {
			continue
		}
		if err := setScalar(v.Field(i), raw); err != nil {
			return fmt.Errorf("%s (%s): %w", name, key, err)
		}
	}
	return nil
}

func setScalar(f reflect.Value, raw string) error {
	switch f.Interface().(type) {
	case string:
		f.SetString(raw)
	case int:
		n, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("%q is not an integer", raw)
		}
		f.SetInt(int64(n))
	case float64:
		x, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", raw)
		}
		f.SetFloat(x)
	case time.Duration:
		d, err := time.ParseDuration(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("%q is not a duration such as 30s", raw)
		}
		f.SetInt(int64(d))
	case []string:
		var list []string
		for _, s := range strings.Split(raw, ",") {
			if s = strings.TrimSpace(s); s != "" {
				list = append(list, s)
			}
		}
		f.Set(reflect.ValueOf(list))
	default:
		return errors.New("cannot be set from the environment")
	}
	return nil
}
