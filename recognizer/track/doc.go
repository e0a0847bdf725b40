// Package track follows faces across the frames of one camera and decides
// who each followed face is from several frames, never from one.
//
// # Ownership
//
// A Tracker belongs to one camera and is used by one goroutine: the
// per-camera stage of the pipeline calls Update for every processed frame
// and Flush when frames stop coming. It has no locks; sharing a Tracker
// between goroutines is a data race.
//
// # Association
//
// Each Update pairs the frame's observations with the live tracks. A pair is
// allowed when the observation's box overlaps the track's predicted box
// (the last box moved by the track's recent velocity) by at least
// Config.MinIoU and its embedding is at least Config.MinSimilarity alike to
// the track's quality-weighted mean embedding, or, wherever the box is, when
// the embeddings alone are at least Config.ReacquireSimilarity alike, which
// is what picks a face up again after it was hidden behind a pillar or
// another person. Allowed pairs cost one minus the mean of overlap and
// similarity; the assignment of least total cost among those with the most
// pairs is found exactly (Hungarian method) for up to 64 tracks or faces and
// greedily beyond. Because similarity is part of the cost, two people whose
// boxes cross keep their own tracks.
//
// An observation left unpaired starts a tentative track. It becomes a real
// track, announced by a TrackStarted event, after Config.ConfirmFrames
// observations; a tentative track that ages out disappears without any event,
// so a one-frame false detection costs nothing downstream. A track ends when
// it has not been seen for longer than Config.MaxAge. Age is measured in
// camera time, not frames, because the detection rate changes with load;
// camera time that steps backwards is held at the latest time seen.
//
// # Identity
//
// Only usable observations (Observation.Usability, the verdict of
// recognizer.UsablePolicy.Check) with gallery matches count as evidence,
// each weighted by its quality score. An unusable observation, such as the
// back of a head, keeps its track alive by its box, but its embedding
// neither pairs it nor joins the track's appearance, and however well it
// matches someone it names nobody: a track of unusable faces waits for
// usable ones. For every person the
// track accumulates the weighted sum of that person's score over the
// evidence frames; a frame that does not list the person contributes the
// lowest score it does list, an upper bound that favours the rivals of the
// leader and so keeps the margin conservative. The leader is the person with
// the largest sum. It is decided when
//
//   - it is the best match in at least Config.MinFrames evidence frames,
//   - those frames carry at least Config.MinVoteShare of the evidence weight,
//   - its weighted mean score reaches Config.Threshold, and
//   - its weighted mean leads the runner-up's by at least Config.MinMargin.
//
// As with gallery.Decide, a leader that never had a rival in any match list
// has an infinite margin; search with k ≥ 2 for the margin rule to bite.
// A decision emits one IdentityDecided event carrying the evidence a guard
// needs: mean score, margin, frames used and the best (highest-quality)
// observation of that person with its crop.
//
// After a decision the identity is sticky. It changes only on overwhelming
// evidence: the last Config.SwitchFrames evidence frames all name another
// person, whose mean over them reaches the threshold and leads by
// Config.SwitchMargin. Such a change emits a new IdentityDecided with
// Replaces set to the previous person, at most once per track and person:
// a track that changes back to a person it already announced only updates
// its current identity, which its TrackEnded summary reports.
//
// # Readers and the embedding budget
//
// Tracker.Live copies the live tracks (box, velocity, identity, margin,
// and what was embedded) for other goroutines. With it a caller decides,
// before it embeds a face, whether the face is worth the cost: Match pairs
// the face by box with the one track it continues, as Update would
// without an embedding, and Budget.Embed says whether that track needs
// the embedding. Budget embeds every face of a new or undecided track, so
// that first decisions are unchanged, and a track decided with a clear
// margin, or led by nobody within reach of the threshold over
// Budget.UnknownFrames evidence frames, only for a better face or when its
// refresh is due (every Budget.Refresh observations, waiting longer, up to
// Budget.MaxRefresh, the longer the track has been followed); a face left
// without an embedding is followed by its box alone.
//
// A track that never gathers enough evidence stays unknown. Its TrackEnded
// summary says so once, distinguishing Unknown (enough usable frames, no
// enrolled person fits) from Unassessed (too few usable frames to tell).
package track
