package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/camera/avcodec"
	"github.com/dozor-edge/dozor/camera/simcam"
	"github.com/dozor-edge/dozor/internal/backoff"
)

func runSimcam(ctx context.Context, args []string) error {
	fs := newFlags("simcam", "usage: edgectl simcam --file CLIP [--listen 127.0.0.1:8554] [--path /cam1] [--codec h264|h265] [--loop] [faults]")
	file := fs.String("file", "", "video clip to stream (MP4 or any file libavformat reads) (required)")
	listen := fs.String("listen", "127.0.0.1:8554", "RTSP address to listen on")
	path := fs.String("path", "/cam1", "stream path")
	codecFlag := fs.String("codec", "", "h264 or h265 (default: the clip's; another codec is re-encoded)")
	loop := fs.Bool("loop", false, "replay the clip for ever (otherwise each session ends with the clip)")
	gop := fs.Duration("gop", 2*time.Second, "longest I-frame interval; a clip with longer ones is re-encoded (0: keep)")
	user := fs.String("user", "", "demand these credentials (with --pass or --pass-file)")
	pass := fs.String("pass", "", "password for --user")
	passFile := fs.String("pass-file", "", "file holding the password for --user")
	udp := fs.Bool("udp", false, "also offer the UDP transport")
	udpPort := fs.Int("udp-port", 0, "even RTP port for UDP (RTCP on the next); 0 picks one")
	dropEvery := fs.Duration("drop-every", 0, "close each session this long after it started (0: never)")
	faultName := fs.String("fault", "none", "misbehave: none, silent (no packets), freeze (packets, no pictures), garbage (random RTP payloads), corrupt (damaged NAL units)")
	faultAfter := fs.Duration("fault-after", 0, "switch the fault on this long after start")
	faultFor := fs.Duration("fault-for", 0, "switch the fault off again after this long (0: keep it)")
	unsupported := fs.Bool("unsupported", false, "announce a VP8 track instead (a codec the camera ingest refuses)")
	verbose := fs.Bool("v", false, "log session details")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("--file is required and no other arguments are taken")
	}
	fault, err := simcam.ParseFault(*faultName)
	if err != nil {
		return err
	}
	if *faultAfter < 0 || *faultFor < 0 {
		return errors.New("--fault-after and --fault-for must not be negative")
	}
	if *passFile != "" {
		b, err := os.ReadFile(*passFile)
		if err != nil {
			return fmt.Errorf("--pass-file: %w", err)
		}
		*pass = strings.TrimRight(string(b), "\r\n")
	}
	opt := avcodec.ClipOptions{GOP: *gop}
	if *codecFlag != "" {
		if opt.Codec, err = camera.ParseCodec(*codecFlag); err != nil {
			return fmt.Errorf("--codec: %w", err)
		}
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	start := time.Now()
	clip, err := avcodec.ReadClip(*file, opt)
	if err != nil {
		return err
	}
	log.Info("clip loaded", "file", *file, "codec", string(clip.Codec), "size", fmt.Sprintf("%dx%d", clip.Width, clip.Height),
		"fps", fmt.Sprintf("%.2f", clip.FPS), "frames", clip.Frames(), "period", clip.Period.Round(time.Millisecond),
		"took", time.Since(start).Round(time.Millisecond))
	srv, err := simcam.Listen(*listen, simcam.Config{
		Clip: clip, Path: *path, Loop: *loop, User: *user, Pass: *pass, UDP: *udp, UDPPort: *udpPort,
		DropEvery: *dropEvery, Unsupported: *unsupported, Logger: log,
	})
	if err != nil {
		return err
	}
	fmt.Println(camera.Redact(srv.URL()))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	if fault != simcam.FaultNone {
		go func() {
			defer close(done)
			scheduleFault(ctx, srv, fault, *faultAfter, *faultFor)
		}()
	} else {
		close(done)
	}
	err = srv.Run(ctx)
	cancel()
	<-done
	return err
}

// scheduleFault switches the fault on after `after` and off again after
// `span` (if not zero).
func scheduleFault(ctx context.Context, srv *simcam.Server, f simcam.Fault, after, span time.Duration) {
	if !backoff.Sleep(ctx, after) {
		return
	}
	srv.SetFault(f)
	if span == 0 || !backoff.Sleep(ctx, span) {
		return
	}
	srv.SetFault(simcam.FaultNone)
}
