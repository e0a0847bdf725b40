package main

import "github.com/dozor-edge/dozor/models"

// modelDir finds and verifies the models directory before any file reaches
// OpenCV or dlib.
func modelDir(flagDir string) (string, error) {
	dir, err := models.Locate(flagDir)
	if err != nil {
		return "", err
	}
	return dir, models.Verify(dir)
}
