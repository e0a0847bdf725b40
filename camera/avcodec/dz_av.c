#include "dz_av.h"

#include <libavcodec/avcodec.h>
#include <libavcodec/bsf.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/imgutils.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
#include <stdio.h>
#include <string.h>

const int dz_err_eagain = AVERROR(EAGAIN);
const int dz_err_eof = AVERROR_EOF;
const int dz_err_invaliddata = AVERROR_INVALIDDATA;
const int dz_err_decoder_not_found = AVERROR_DECODER_NOT_FOUND;
const int dz_err_encoder_not_found = AVERROR_ENCODER_NOT_FOUND;
const int dz_err_patchwelcome = AVERROR_PATCHWELCOME;
const int dz_err_enomem = AVERROR(ENOMEM);
const int dz_err_einval = AVERROR(EINVAL);

// Bound on frames one call may drain, so no loop depends on the decoder
// behaving.
#define DZ_MAX_DRAIN 64
#define DZ_MAX_STEPS 100000

void dz_init(void) {
	// FFmpeg would otherwise print a line per damaged macroblock on
	// stderr. Errors reach Go as return codes and are counted there.
	av_log_set_level(AV_LOG_QUIET);
}

void dz_strerror(int code, char *buf, int size) {
	if (av_strerror(code, buf, (size_t)size) < 0) {
		snprintf(buf, (size_t)size, "error %d", code);
	}
}

static enum AVCodecID codec_id(int codec) {
	switch (codec) {
	case DZ_H264: return AV_CODEC_ID_H264;
	case DZ_H265: return AV_CODEC_ID_HEVC;
	}
	return AV_CODEC_ID_NONE;
}

// ---------------------------------------------------------------- decoder

#define DZ_SWS_SLOTS 2

typedef struct {
	struct SwsContext *ctx;
	int w, h, fmt, ow, oh, range, space;
} dz_sws;

struct dz_dec {
	AVCodecContext *ctx;
	AVPacket *pkt;
	AVFrame *frame; // receive target
	AVFrame *last;  // newest picture, kept for convert
	int have_last;
	// One converter per output size: a track converts each sampled
	// picture at the detection size and at full resolution, and
	// rebuilding a context for every call would cost more than the
	// conversion.
	dz_sws sws[DZ_SWS_SLOTS];
	int sws_next; // slot replaced when none matches
};

void dz_dec_close(dz_dec *d) {
	if (!d) return;
	avcodec_free_context(&d->ctx);
	av_packet_free(&d->pkt);
	av_frame_free(&d->frame);
	av_frame_free(&d->last);
	for (int i = 0; i < DZ_SWS_SLOTS; i++) sws_freeContext(d->sws[i].ctx);
	av_free(d);
}

int dz_dec_open(int codec, int threads, int thread_type, int fast, dz_dec **out) {
	*out = NULL;
	const AVCodec *c = avcodec_find_decoder(codec_id(codec));
	if (!c) return AVERROR_DECODER_NOT_FOUND;
	dz_dec *d = av_mallocz(sizeof(*d));
	if (!d) return AVERROR(ENOMEM);
	d->ctx = avcodec_alloc_context3(c);
	d->pkt = av_packet_alloc();
	d->frame = av_frame_alloc();
	d->last = av_frame_alloc();
	if (!d->ctx || !d->pkt || !d->frame || !d->last) {
		dz_dec_close(d);
		return AVERROR(ENOMEM);
	}
	d->ctx->thread_count = threads > 0 ? threads : 1;
	switch (thread_type) {
	case DZ_THREAD_FRAME: d->ctx->thread_type = FF_THREAD_FRAME; break;
	case DZ_THREAD_SLICE: d->ctx->thread_type = FF_THREAD_SLICE; break;
	default: d->ctx->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
	}
	if (fast) d->ctx->flags2 |= AV_CODEC_FLAG2_FAST;
	int ret = avcodec_open2(d->ctx, c, NULL);
	if (ret < 0) {
		dz_dec_close(d);
		return ret;
	}
	*out = d;
	return 0;
}

static int drain(dz_dec *d, dz_pic *pic) {
	for (int i = 0; i < DZ_MAX_DRAIN; i++) {
		int ret = avcodec_receive_frame(d->ctx, d->frame);
		if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return 0;
		if (ret < 0) return ret;
		av_frame_unref(d->last);
		av_frame_move_ref(d->last, d->frame);
		d->have_last = 1;
		pic->count++;
		pic->w = d->last->width;
		pic->h = d->last->height;
		pic->pts = d->last->best_effort_timestamp != AV_NOPTS_VALUE ? d->last->best_effort_timestamp : d->last->pts;
		pic->corrupt = (d->last->flags & AV_FRAME_FLAG_CORRUPT) || d->last->decode_error_flags;
	}
	return 0;
}

int dz_dec_decode(dz_dec *d, const uint8_t *data, int size, int64_t pts, dz_pic *pic) {
	memset(pic, 0, sizeof(*pic));
	if (!d) return AVERROR(EINVAL);
	AVPacket *pkt = NULL;
	if (data && size > 0) {
		// Not reference counted: avcodec_send_packet copies the bytes,
		// so Go memory is never kept by C.
		d->pkt->data = (uint8_t *)data;
		d->pkt->size = size;
		d->pkt->pts = pts;
		d->pkt->dts = AV_NOPTS_VALUE;
		pkt = d->pkt;
	}
	int ret = avcodec_send_packet(d->ctx, pkt);
	if (ret == AVERROR(EAGAIN)) { // output was not drained: drain and retry once
		int r2 = drain(d, pic);
		if (r2 < 0) ret = r2;
		else ret = avcodec_send_packet(d->ctx, pkt);
	}
	d->pkt->data = NULL;
	d->pkt->size = 0;
	int r3 = drain(d, pic);
	if (!pkt) avcodec_flush_buffers(d->ctx); // drained: ready for a new stream
	if (ret == AVERROR_EOF) ret = 0;
	if (ret < 0) return ret;
	return r3;
}

int dz_dec_convert(dz_dec *d, uint8_t *dst, int w, int h) {
	if (!d || !d->have_last) return AVERROR(EINVAL);
	AVFrame *f = d->last;
	if (w <= 0 || h <= 0 || f->width <= 0 || f->height <= 0) return AVERROR(EINVAL);
	int fmt = f->format;
	int full = f->color_range == AVCOL_RANGE_JPEG;
	switch (fmt) { // deprecated full-range formats: say what they mean
	case AV_PIX_FMT_YUVJ420P: fmt = AV_PIX_FMT_YUV420P; full = 1; break;
	case AV_PIX_FMT_YUVJ422P: fmt = AV_PIX_FMT_YUV422P; full = 1; break;
	case AV_PIX_FMT_YUVJ444P: fmt = AV_PIX_FMT_YUV444P; full = 1; break;
	}
	int space = f->colorspace == AVCOL_SPC_BT709 ? SWS_CS_ITU709 : SWS_CS_DEFAULT;
	dz_sws *c = NULL;
	for (int i = 0; i < DZ_SWS_SLOTS; i++) {
		dz_sws *s = &d->sws[i];
		if (s->ctx && s->w == f->width && s->h == f->height && s->fmt == fmt &&
		    s->ow == w && s->oh == h && s->range == full && s->space == space) {
			c = s;
			break;
		}
	}
	if (!c) {
		c = &d->sws[d->sws_next];
		d->sws_next = (d->sws_next + 1) % DZ_SWS_SLOTS;
		sws_freeContext(c->ctx);
		memset(c, 0, sizeof(*c));
		c->ctx = sws_getContext(f->width, f->height, fmt, w, h, AV_PIX_FMT_BGR24,
		                        SWS_BILINEAR, NULL, NULL, NULL);
		if (!c->ctx) return AVERROR(EINVAL);
		const int *coef = sws_getCoefficients(space);
		// brightness 0, contrast and saturation 1.0 (16.16 fixed point)
		sws_setColorspaceDetails(c->ctx, coef, full, sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16);
		c->w = f->width; c->h = f->height; c->fmt = fmt;
		c->ow = w; c->oh = h; c->range = full; c->space = space;
	}
	uint8_t *planes[4] = {dst, NULL, NULL, NULL};
	int strides[4] = {w * 3, 0, 0, 0};
	int got = sws_scale(c->ctx, (const uint8_t *const *)f->data, f->linesize, 0, f->height, planes, strides);
	if (got != h) return got < 0 ? got : AVERROR(EINVAL);
	return 0;
}

// ------------------------------------------------------------------ demux

struct dz_demux {
	AVFormatContext *fmt;
	int stream;
	AVRational tb;
	AVPacket *pkt;
	AVPacket *out;
	AVBSFContext *bsf; // mp4toannexb; NULL for other codecs (transcode only)
	int eof;
};

void dz_demux_close(dz_demux *d) {
	if (!d) return;
	avformat_close_input(&d->fmt);
	av_packet_free(&d->pkt);
	av_packet_free(&d->out);
	av_bsf_free(&d->bsf);
	av_free(d);
}

int dz_demux_open(const char *path, dz_demux **out, dz_stream_info *info) {
	*out = NULL;
	memset(info, 0, sizeof(*info));
	dz_demux *d = av_mallocz(sizeof(*d));
	if (!d) return AVERROR(ENOMEM);
	d->pkt = av_packet_alloc();
	d->out = av_packet_alloc();
	if (!d->pkt || !d->out) {
		dz_demux_close(d);
		return AVERROR(ENOMEM);
	}
	int ret = avformat_open_input(&d->fmt, path, NULL, NULL);
	if (ret < 0) {
		dz_demux_close(d);
		return ret;
	}
	ret = avformat_find_stream_info(d->fmt, NULL);
	if (ret < 0) {
		dz_demux_close(d);
		return ret;
	}
	ret = av_find_best_stream(d->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
	if (ret < 0) {
		dz_demux_close(d);
		return ret;
	}
	d->stream = ret;
	AVStream *st = d->fmt->streams[d->stream];
	d->tb = st->time_base;
	AVCodecParameters *par = st->codecpar;
	info->codec = par->codec_id == AV_CODEC_ID_H264 ? DZ_H264 : par->codec_id == AV_CODEC_ID_HEVC ? DZ_H265 : 0;
	info->width = par->width;
	info->height = par->height;
	AVRational fr = st->avg_frame_rate.num > 0 ? st->avg_frame_rate : st->r_frame_rate;
	info->fps_num = fr.num;
	info->fps_den = fr.den;
	snprintf(info->codec_name, sizeof(info->codec_name), "%s", avcodec_get_name(par->codec_id));
	if (info->codec) {
		const AVBitStreamFilter *f = av_bsf_get_by_name(info->codec == DZ_H264 ? "h264_mp4toannexb" : "hevc_mp4toannexb");
		if (!f) {
			dz_demux_close(d);
			return AVERROR_BSF_NOT_FOUND;
		}
		ret = av_bsf_alloc(f, &d->bsf);
		if (ret >= 0) ret = avcodec_parameters_copy(d->bsf->par_in, par);
		if (ret >= 0) {
			d->bsf->time_base_in = st->time_base;
			ret = av_bsf_init(d->bsf);
		}
		if (ret < 0) {
			dz_demux_close(d);
			return ret;
		}
	}
	*out = d;
	return 0;
}

static int64_t to90k(int64_t t, AVRational tb) {
	if (t == AV_NOPTS_VALUE) return INT64_MIN;
	return av_rescale_q(t, tb, (AVRational){1, 90000});
}

// read_video returns the next raw packet of the video stream in d->pkt
// (0), 1 at the end, or an error.
static int read_video(dz_demux *d) {
	for (int i = 0; i < DZ_MAX_STEPS; i++) {
		av_packet_unref(d->pkt);
		int ret = av_read_frame(d->fmt, d->pkt);
		if (ret == AVERROR_EOF) return 1;
		if (ret < 0) return ret;
		if (d->pkt->stream_index == d->stream) return 0;
	}
	return AVERROR(EINVAL);
}

int dz_demux_next(dz_demux *d, dz_packet *p) {
	memset(p, 0, sizeof(*p));
	if (!d->bsf) return AVERROR_PATCHWELCOME;
	for (int i = 0; i < DZ_MAX_STEPS; i++) {
		av_packet_unref(d->out);
		int ret = av_bsf_receive_packet(d->bsf, d->out);
		if (ret == 0) {
			p->data = d->out->data;
			p->size = d->out->size;
			p->pts = to90k(d->out->pts, d->tb);
			p->dts = to90k(d->out->dts, d->tb);
			p->key = (d->out->flags & AV_PKT_FLAG_KEY) != 0;
			return 0;
		}
		if (ret == AVERROR_EOF) return 1;
		if (ret != AVERROR(EAGAIN)) return ret;
		if (d->eof) return 1;
		ret = read_video(d);
		if (ret < 0) return ret;
		if (ret == 1) {
			d->eof = 1;
			ret = av_bsf_send_packet(d->bsf, NULL);
		} else {
			ret = av_bsf_send_packet(d->bsf, d->pkt);
		}
		if (ret < 0) return ret;
	}
	return AVERROR(EINVAL);
}

// -------------------------------------------------------------- transcode

struct dz_tx {
	dz_demux *dm;
	AVCodecContext *dec;
	AVCodecContext *enc;
	AVFrame *frame;
	AVFrame *conv; // frame in the encoder's pixel format, when it differs
	struct SwsContext *sws;
	AVPacket *pkt;
	int dec_eof, enc_flushed;
};

void dz_tx_close(dz_tx *t) {
	if (!t) return;
	dz_demux_close(t->dm);
	avcodec_free_context(&t->dec);
	avcodec_free_context(&t->enc);
	av_frame_free(&t->frame);
	av_frame_free(&t->conv);
	sws_freeContext(t->sws);
	av_packet_free(&t->pkt);
	av_free(t);
}

int dz_tx_open(dz_demux *dm, int codec, int keyint, int crf, const char *preset, int w, int h, dz_tx **out) {
	*out = NULL;
	dz_tx *t = av_mallocz(sizeof(*t));
	if (!t) {
		dz_demux_close(dm);
		return AVERROR(ENOMEM);
	}
	t->dm = dm;
	t->frame = av_frame_alloc();
	t->conv = av_frame_alloc();
	t->pkt = av_packet_alloc();
	if (!t->frame || !t->conv || !t->pkt) {
		dz_tx_close(t);
		return AVERROR(ENOMEM);
	}
	AVStream *st = dm->fmt->streams[dm->stream];
	const AVCodec *dc = avcodec_find_decoder(st->codecpar->codec_id);
	if (!dc) {
		dz_tx_close(t);
		return AVERROR_DECODER_NOT_FOUND;
	}
	t->dec = avcodec_alloc_context3(dc);
	if (!t->dec) {
		dz_tx_close(t);
		return AVERROR(ENOMEM);
	}
	int ret = avcodec_parameters_to_context(t->dec, st->codecpar);
	if (ret >= 0) {
		t->dec->pkt_timebase = st->time_base;
		t->dec->thread_count = 0; // auto: this is set-up work, not the camera path
		ret = avcodec_open2(t->dec, dc, NULL);
	}
	if (ret < 0) {
		dz_tx_close(t);
		return ret;
	}
	const AVCodec *ec = avcodec_find_encoder_by_name(codec == DZ_H265 ? "libx265" : "libx264");
	if (!ec) {
		dz_tx_close(t);
		return AVERROR_ENCODER_NOT_FOUND;
	}
	t->enc = avcodec_alloc_context3(ec);
	if (!t->enc) {
		dz_tx_close(t);
		return AVERROR(ENOMEM);
	}
	t->enc->width = w > 0 ? w : st->codecpar->width;
	t->enc->height = h > 0 ? h : st->codecpar->height;
	t->enc->pix_fmt = AV_PIX_FMT_YUV420P;
	t->enc->time_base = (AVRational){1, 90000};
	AVRational fr = st->avg_frame_rate.num > 0 ? st->avg_frame_rate : st->r_frame_rate;
	if (fr.num > 0 && fr.den > 0) t->enc->framerate = fr;
	t->enc->gop_size = keyint > 0 ? keyint : 25;
	t->enc->keyint_min = t->enc->gop_size;
	t->enc->max_b_frames = 0; // like an IP camera
	char crfs[16];
	snprintf(crfs, sizeof(crfs), "%d", crf > 0 ? crf : 23);
	av_opt_set(t->enc->priv_data, "preset", preset && preset[0] ? preset : "veryfast", 0);
	av_opt_set(t->enc->priv_data, "tune", "zerolatency", 0);
	av_opt_set(t->enc->priv_data, "crf", crfs, 0);
	if (codec == DZ_H265) {
		// keyint also in x265's own terms, and its banner off stderr
		char p[96];
		snprintf(p, sizeof(p), "log-level=error:keyint=%d:min-keyint=%d:scenecut=0:repeat-headers=1", t->enc->gop_size, t->enc->gop_size);
		av_opt_set(t->enc->priv_data, "x265-params", p, 0);
	} else {
		av_opt_set(t->enc->priv_data, "x264-params", "scenecut=0", 0);
	}
	ret = avcodec_open2(t->enc, ec, NULL);
	if (ret < 0) {
		dz_tx_close(t);
		return ret;
	}
	*out = t;
	return 0;
}

// feed_encoder passes the decoded t->frame on, converted when needed.
static int feed_encoder(dz_tx *t) {
	AVFrame *f = t->frame;
	AVFrame *in = f;
	if (f->format != AV_PIX_FMT_YUV420P || f->width != t->enc->width || f->height != t->enc->height) {
		if (!t->sws) {
			t->sws = sws_getContext(f->width, f->height, f->format, t->enc->width, t->enc->height,
			                        AV_PIX_FMT_YUV420P, SWS_BILINEAR, NULL, NULL, NULL);
			if (!t->sws) return AVERROR(EINVAL);
		}
		av_frame_unref(t->conv);
		t->conv->format = AV_PIX_FMT_YUV420P;
		t->conv->width = t->enc->width;
		t->conv->height = t->enc->height;
		int ret = av_frame_get_buffer(t->conv, 0);
		if (ret < 0) return ret;
		sws_scale(t->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, t->conv->data, t->conv->linesize);
		in = t->conv;
	}
	int64_t ts = f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
	in->pts = av_rescale_q(ts, t->dm->fmt->streams[t->dm->stream]->time_base, t->enc->time_base);
	in->pict_type = AV_PICTURE_TYPE_NONE;
	int ret = avcodec_send_frame(t->enc, in);
	av_frame_unref(t->frame);
	if (in == t->conv) av_frame_unref(t->conv);
	return ret;
}

int dz_tx_next(dz_tx *t, dz_packet *p) {
	memset(p, 0, sizeof(*p));
	dz_demux *d = t->dm;
	for (int i = 0; i < DZ_MAX_STEPS; i++) {
		av_packet_unref(t->pkt);
		int ret = avcodec_receive_packet(t->enc, t->pkt);
		if (ret == 0) {
			p->data = t->pkt->data;
			p->size = t->pkt->size;
			p->pts = t->pkt->pts == AV_NOPTS_VALUE ? INT64_MIN : t->pkt->pts;
			p->dts = t->pkt->dts == AV_NOPTS_VALUE ? INT64_MIN : t->pkt->dts;
			p->key = (t->pkt->flags & AV_PKT_FLAG_KEY) != 0;
			return 0;
		}
		if (ret == AVERROR_EOF) return 1;
		if (ret != AVERROR(EAGAIN)) return ret;
		// The encoder wants a picture.
		ret = avcodec_receive_frame(t->dec, t->frame);
		if (ret == 0) {
			ret = feed_encoder(t);
			if (ret < 0) return ret;
			continue;
		}
		if (ret == AVERROR_EOF) {
			if (t->enc_flushed) return 1;
			t->enc_flushed = 1;
			ret = avcodec_send_frame(t->enc, NULL);
			if (ret < 0) return ret;
			continue;
		}
		if (ret != AVERROR(EAGAIN)) return ret;
		// The decoder wants a packet.
		if (t->dec_eof) return AVERROR(EINVAL);
		ret = read_video(d);
		if (ret < 0) return ret;
		if (ret == 1) {
			t->dec_eof = 1;
			ret = avcodec_send_packet(t->dec, NULL);
		} else {
			ret = avcodec_send_packet(t->dec, d->pkt);
			if (ret == AVERROR_INVALIDDATA) ret = 0; // skip a damaged packet of the source
		}
		if (ret < 0) return ret;
	}
	return AVERROR(EINVAL);
}
