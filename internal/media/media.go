// Package media serves call recordings' audio through short-lived signed
// URLs (docs/product.md §4, "Recording media"). A URL names the recording, the action
// (replay or download), its expiry, the user it was issued to and the login
// session that asked for it, and carries an HMAC of them and of the user's
// credential stamp. It needs no Authorization header, so that an <audio src>
// can play it; instead, every fetch asks again whether that user still holds
// the right:
//   - the session is still alive (internal/session: the user exists, may use
//     the portal, has the same credential stamp, did not log out), and
//   - SpiceDB says the user has the action's permission on the recording now.
//
// A tampered or expired URL, or one whose user lost the right, gets 403; if
// SpiceDB cannot answer, the fetch is refused (503), never served.
package media

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/internal/access"
	"github.com/pbxportal/pbxportal/internal/authz"
	"github.com/pbxportal/pbxportal/internal/authz/projection"
	"github.com/pbxportal/pbxportal/internal/session"
)

// Actions a URL may grant. They are also the SpiceDB permissions on a
// recording that a fetch checks.
const (
	Replay   = "replay"
	Download = "download"
)

// Path is where the server serves recordings' audio.
const Path = "/media/recordings/"

// Grant is what a URL grants, and to whom.
type Grant struct {
	// Recording is the recording's id.
	Recording int
	// Action is Replay or Download.
	Action string
	// User is the user the URL is issued to; only its rights count.
	User int
	// Stamp is the user's credential stamp; signed, never put in the URL.
	Stamp int64
	// Session is the id (jti) of the token that asked for the URL; its
	// logout ends the URL too.
	Session string
}

// Signer mints and checks media URLs.
type Signer struct {
	key []byte
	ttl time.Duration
}

// NewSigner derives the media key from the server's signing key, so that a
// media URL can never pass for a login token, nor the other way round.
func NewSigner(signingKey []byte, ttl time.Duration) *Signer {
	m := hmac.New(sha256.New, signingKey)
	m.Write([]byte("pbxportal media urls"))
	return &Signer{key: m.Sum(nil), ttl: ttl}
}

func (s *Signer) mac(g Grant, exp int64) string {
	m := hmac.New(sha256.New, s.key)
	fmt.Fprintf(m, "%d|%s|%d|%d|%d|%s", g.Recording, g.Action, exp, g.User, g.Stamp, g.Session)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// URL returns a path (relative to the server) that grants g until now plus
// the signer's lifetime, for as long as g's user keeps the right.
func (s *Signer) URL(g Grant, now time.Time) string {
	exp := now.Add(s.ttl).Unix()
	q := url.Values{
		"action": {g.Action},
		"exp":    {strconv.FormatInt(exp, 10)},
		"uid":    {strconv.Itoa(g.User)},
		"sid":    {g.Session},
		"sig":    {s.mac(g, exp)},
	}
	return Path + strconv.Itoa(g.Recording) + "?" + q.Encode()
}

// errForbidden is a URL that grants nothing (now).
var errForbidden = errors.New("media: forbidden")

// authorize checks a request's URL: its form, expiry and signature, that its
// session is alive, and that its user holds the action's permission on the
// recording in SpiceDB now. It returns the action; errForbidden; or, when
// the database or SpiceDB cannot answer, that error (the caller refuses).
func (s *Signer) authorize(ctx context.Context, db *ent.Client, spice *authz.Client, settle Settle, id int, q url.Values, now time.Time) (string, error) {
	g := Grant{Recording: id, Action: q.Get("action"), Session: q.Get("sid")}
	exp, err := strconv.ParseInt(q.Get("exp"), 10, 64)
	if err != nil || (g.Action != Replay && g.Action != Download) || now.Unix() >= exp {
		return "", errForbidden
	}
	if g.User, err = strconv.Atoi(q.Get("uid")); err != nil || g.User <= 0 || g.Session == "" {
		return "", errForbidden
	}
	u, err := db.User.Get(ctx, g.User)
	switch {
	case ent.IsNotFound(err):
		return "", errForbidden // the user was deleted
	case err != nil:
		return "", fmt.Errorf("media: load user: %w", err)
	}
	g.Stamp = u.CredentialStamp
	if !hmac.Equal([]byte(q.Get("sig")), []byte(s.mac(g, exp))) {
		return "", errForbidden // tampered, or the user's credentials changed
	}
	if !access.MayUsePortal(u) { // the stamp was checked with the signature
		return "", errForbidden
	}
	switch revoked, err := session.Revoked(ctx, db, g.Session); {
	case err != nil:
		return "", err
	case revoked:
		return "", errForbidden
	}
	// Only a validly signed URL gets this far: SpiceDB is brought up to date
	// with every committed change, and asked at least as fresh as it.
	token, err := settle(ctx)
	if err != nil {
		return "", err
	}
	ok, err := spice.CheckBulk(authz.WithRevision(ctx, token), projection.Obj(projection.TypeUser, g.User),
		[]authz.Check{{Resource: projection.Obj(projection.TypeRecording, id), Permission: g.Action}})
	switch {
	case err != nil:
		return "", err
	case !ok[0]:
		return "", errForbidden
	}
	return g.Action, nil
}

// Settle brings SpiceDB up to date with every committed change and returns
// the revision to read at least as fresh as (the outbox relay's Settle).
type Settle func(context.Context) (string, error)

// Handler serves GET /media/recordings/{id}?action=&exp=&uid=&sid=&sig= from
// dir, asking db and spice on every fetch whether the URL's user still holds
// the right.
func (s *Signer) Handler(db *ent.Client, spice *authz.Client, settle Settle, dir string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.Atoi(r.PathValue("id"))
		if err != nil {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		action, err := s.authorize(r.Context(), db, spice, settle, id, r.URL.Query(), time.Now())
		switch {
		case errors.Is(err, errForbidden):
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		case err != nil: // SpiceDB or the database cannot answer: refuse
			http.Error(w, "authorization is unavailable; try again", http.StatusServiceUnavailable)
			return
		}
		rec, err := db.Recording.Get(r.Context(), id)
		if err != nil || rec.MediaFile == "" || filepath.Base(rec.MediaFile) != rec.MediaFile {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		f, err := os.Open(filepath.Join(dir, rec.MediaFile))
		if err != nil {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		defer f.Close()
		w.Header().Set("Content-Type", "audio/wav")
		w.Header().Set("Cache-Control", "private, no-store")
		if action == Download {
			w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", rec.CallID+".wav"))
		}
		http.ServeContent(w, r, "", rec.StartedAt, f)
	})
}
