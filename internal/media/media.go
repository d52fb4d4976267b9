// Package media serves call recordings' audio through short-lived signed
// URLs (SPEC §4, "Recording media"). A URL names the recording, the action
// (replay or download) and its expiry, and carries an HMAC of them; the
// permission was checked by the GraphQL field that minted it. A tampered or
// expired URL gets 403.
package media

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/pbxportal/pbxportal/ent"
)

// Actions a URL may grant.
const (
	Replay   = "replay"
	Download = "download"
)

// Path is where the server serves recordings' audio.
const Path = "/media/recordings/"

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

func (s *Signer) mac(id int, action string, exp int64) string {
	m := hmac.New(sha256.New, s.key)
	fmt.Fprintf(m, "%d|%s|%d", id, action, exp)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// URL returns a path (relative to the server) that grants action on the
// recording until now plus the signer's lifetime.
func (s *Signer) URL(recordingID int, action string, now time.Time) string {
	exp := now.Add(s.ttl).Unix()
	q := url.Values{"action": {action}, "exp": {strconv.FormatInt(exp, 10)}, "sig": {s.mac(recordingID, action, exp)}}
	return Path + strconv.Itoa(recordingID) + "?" + q.Encode()
}

// verify checks a request's signature and expiry.
func (s *Signer) verify(id int, q url.Values, now time.Time) (string, bool) {
	action := q.Get("action")
	exp, err := strconv.ParseInt(q.Get("exp"), 10, 64)
	if err != nil || (action != Replay && action != Download) || now.Unix() >= exp {
		return "", false
	}
	return action, hmac.Equal([]byte(q.Get("sig")), []byte(s.mac(id, action, exp)))
}

// Handler serves GET /media/recordings/{id}?action=&exp=&sig= from dir.
func (s *Signer) Handler(db *ent.Client, dir string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.Atoi(r.PathValue("id"))
		if err != nil {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		action, ok := s.verify(id, r.URL.Query(), time.Now())
		if !ok {
			http.Error(w, "forbidden", http.StatusForbidden)
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
