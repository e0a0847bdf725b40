package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/dozor-edge/dozor/region/config"
	"github.com/dozor-edge/dozor/region/gallery"
)

// galleryCmd is `regiond gallery pubkey`: the public key of the region's
// gallery signing key, which every site configures. The key is generated
// when it does not exist yet, as regiond itself does on its first start,
// so that the sites can be set up before the region first runs.
func galleryCmd(args []string, stdout, stderr io.Writer) int {
	usage := "usage: regiond gallery pubkey -config FILE"
	if len(args) == 0 || args[0] != "pubkey" {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("regiond gallery pubkey", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file; its gallery.signing_key_file is the key read")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 || *cfgPath == "" {
		fs.Usage()
		return 2
	}
	cfg, err := config.Load(*cfgPath, os.LookupEnv)
	if err != nil {
		fmt.Fprintf(stderr, "regiond: invalid configuration: %v\n", err)
		return 1
	}
	path := cfg.SigningKeyPath()
	key, created, err := gallery.SigningKey(path)
	if err != nil {
		fmt.Fprintf(stderr, "regiond: gallery.signing_key_file: %v\n", err)
		return 1
	}
	if created {
		fmt.Fprintf(stderr, "created the region's gallery signing key %s: back it up; every site must be given the public key below\n", path)
	}
	fmt.Fprintln(stdout, gallery.PublicKey(key))
	return 0
}
