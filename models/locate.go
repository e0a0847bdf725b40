package models

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

const (
	// EnvDir names the environment variable that points at a models
	// directory.
	EnvDir = "DOZOR_MODELS"
	// DefaultDir is where `make models` and `edgectl models install` put
	// the files, relative to the working directory.
	DefaultDir = "var/models"
	// sharedDir is the development checkout's copy, beside the repository.
	sharedDir = "../shared/models"
)

// Locate finds the models directory: flagDir when set, else $DOZOR_MODELS
// when set, else ./var/models, else ../shared/models. An explicitly named
// directory must exist (a typo there should fail, not fall through to some
// other set of weights); the two defaults count only when they hold at least
// one manifest file. The result is absolute. The error lists every place
// tried and why it was rejected.
func Locate(flagDir string) (string, error) {
	var tried []string
	if flagDir != "" {
		dir, err := explicitDir(flagDir)
		if err != nil {
			return "", fmt.Errorf("models directory %s (from the command line): %w", flagDir, err)
		}
		return dir, nil
	}
	tried = append(tried, "command-line directory: not given")
	if env := os.Getenv(EnvDir); env != "" {
		dir, err := explicitDir(env)
		if err != nil {
			return "", fmt.Errorf("models directory %s (from $%s): %w", env, EnvDir, err)
		}
		return dir, nil
	}
	tried = append(tried, "$"+EnvDir+": not set")
	for _, cand := range []string{DefaultDir, sharedDir} {
		shown := "./" + cand
		if strings.HasPrefix(cand, "..") {
			shown = cand
		}
		dir, why := defaultDir(cand)
		if why == "" {
			return dir, nil
		}
		tried = append(tried, shown+": "+why)
	}
	return "", fmt.Errorf("no models directory found (tried %s); install the files with `edgectl models install`",
		strings.Join(tried, "; "))
}

func explicitDir(dir string) (string, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", errors.New("does not exist")
		}
		return "", err
	}
	if !fi.IsDir() {
		return "", errors.New("is not a directory")
	}
	return filepath.Abs(dir)
}

// defaultDir returns the absolute directory, or why it does not qualify.
func defaultDir(dir string) (string, string) {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", "does not exist"
	case err != nil:
		return "", err.Error()
	case !fi.IsDir():
		return "", "not a directory"
	}
	for _, f := range manifest {
		if _, err := os.Stat(Path(dir, f.Name)); err == nil {
			abs, err := filepath.Abs(dir)
			if err != nil {
				return "", err.Error()
			}
			return abs, ""
		}
	}
	return "", "holds no model files"
}
