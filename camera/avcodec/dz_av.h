// C side of package avcodec: small wrappers so that Go never touches an
// FFmpeg struct layout. Every function returns 0 or a negative AVERROR code;
// every object has one close function that accepts NULL.
#ifndef DZ_AV_H
#define DZ_AV_H

#include <stdint.h>

enum { DZ_H264 = 1, DZ_H265 = 2 };

// Errors Go needs to recognise (AVERROR macros are not constants to cgo).
extern const int dz_err_eagain;
extern const int dz_err_eof;
extern const int dz_err_invaliddata;
extern const int dz_err_decoder_not_found;
extern const int dz_err_encoder_not_found;
extern const int dz_err_patchwelcome;
extern const int dz_err_enomem;
extern const int dz_err_einval;

void dz_init(void);
void dz_strerror(int code, char *buf, int size);

// ---- decoder ----
typedef struct dz_dec dz_dec;

typedef struct {
	int count;     // pictures received during the call
	int w, h;      // newest picture
	int64_t pts;   // its presentation time (as fed)
	int corrupt;   // it concealed errors
} dz_pic;

enum { DZ_THREAD_ANY = 0, DZ_THREAD_FRAME = 1, DZ_THREAD_SLICE = 2 };
// threads: libavcodec's thread_count (1: none); thread_type: DZ_THREAD_*;
// fast: sets AV_CODEC_FLAG2_FAST.
int dz_dec_open(int codec, int threads, int thread_type, int fast, dz_dec **out);
// Feeds one access unit in Annex-B form (data may be NULL to drain).
int dz_dec_decode(dz_dec *d, const uint8_t *data, int size, int64_t pts, dz_pic *pic);
// Scales and converts the newest picture into dst (packed BGR, w*h*3).
// Converters for the last two output sizes are kept, so one picture can be
// converted at two sizes without rebuilding either.
int dz_dec_convert(dz_dec *d, uint8_t *dst, int w, int h);
void dz_dec_close(dz_dec *d);

// ---- clip reading: demux an MP4 (or any container) to Annex-B ----
typedef struct dz_demux dz_demux;

typedef struct {
	int codec;            // DZ_H264, DZ_H265, or 0 for another codec
	int width, height;
	int fps_num, fps_den; // average frame rate (0/0 when unknown)
	char codec_name[32];
} dz_stream_info;

typedef struct {
	const uint8_t *data;  // valid until the next call on the same object
	int size;
	int64_t pts, dts;     // 1/90000 s; INT64_MIN when unknown
	int key;
} dz_packet;

int dz_demux_open(const char *path, dz_demux **out, dz_stream_info *info);
// Next video packet in Annex-B form: returns 0, 1 at the end, or an error.
int dz_demux_next(dz_demux *d, dz_packet *p);
void dz_demux_close(dz_demux *d);

// ---- transcoding: decode what dz_demux reads, encode with libx264/libx265 ----
typedef struct dz_tx dz_tx;

// keyint: frames between IDRs; crf: quality (23 is x264's default);
// preset: x264/x265 preset name; w, h: output size (0: the source's).
// Takes over dm (closes it).
int dz_tx_open(dz_demux *dm, int codec, int keyint, int crf, const char *preset, int w, int h, dz_tx **out);
// Next encoded packet (Annex-B, parameter sets before each IDR): 0, 1 at
// the end, or an error.
int dz_tx_next(dz_tx *t, dz_packet *p);
void dz_tx_close(dz_tx *t);

#endif
