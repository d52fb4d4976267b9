package app_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pbxportal/pbxportal/ent/recording"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/internal/media"
)

// TestRecordingMedia: replayUrl and downloadUrl are guarded by the replay and
// download permissions, and serve real audio; a tampered or expired URL gets
// 403.
func TestRecordingMedia(t *testing.T) {
	p := startPortal(t)
	type urls struct {
		Recordings struct {
			Edges []struct {
				Node struct {
					CallID                 string
					ReplayURL, DownloadURL *string
				}
			}
		}
	}
	const q = `{ recordings(where: {callID: "acme-0004"}) { edges { node { callID replayUrl downloadUrl } } } }`
	var alice urls
	if errs := p.as("alice@acme.example", q, nil, &alice); len(errs) > 0 {
		t.Fatalf("alice: %+v", errs)
	}
	var cora urls
	errs := p.as("cora@acme.example", q, nil, &cora)
	if !slices.Equal(codes(errs), []string{"FORBIDDEN"}) || cora.Recordings.Edges[0].Node.DownloadURL != nil ||
		cora.Recordings.Edges[0].Node.ReplayURL == nil {
		t.Fatalf("cora (replay, no downloadRecordings): %+v %v", cora, codes(errs))
	}
	node := alice.Recordings.Edges[0].Node
	fetch := func(path string) *http.Response {
		res, err := http.Get(p.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	for _, u := range []string{*node.ReplayURL, *node.DownloadURL} {
		res := fetch(u)
		head := make([]byte, 4)
		_, _ = res.Body.Read(head)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "audio/wav" || string(head) != "RIFF" {
			t.Errorf("GET %s = %d %s %q", u, res.StatusCode, res.Header.Get("Content-Type"), head)
		}
	}
	if cd := fetch(*node.DownloadURL).Header.Get("Content-Disposition"); !strings.Contains(cd, "attachment") {
		t.Errorf("download Content-Disposition = %q", cd)
	}
	id := p.app.Client.Recording.Query().Where(recording.CallID("acme-0004")).OnlyIDX(t.Context())
	aliceUser := p.app.Client.User.Query().Where(user.Username("alice@acme.example")).OnlyX(t.Context())
	expired := media.Grant{Recording: id, Action: media.Replay, User: aliceUser.ID, Stamp: aliceUser.CredentialStamp, Session: "s"}
	bad := map[string]string{
		"tampered signature": strings.Replace(*node.ReplayURL, "sig=", "sig=x", 1),
		"another action":     strings.Replace(*node.ReplayURL, "action=replay", "action=download", 1),
		"another recording":  strings.Replace(*node.ReplayURL, media.Path+"", media.Path+"1", 1),
		"expired":            p.app.Media.URL(expired, time.Now().Add(-time.Hour)),
		"no signature":       media.Path + "1",
	}
	for name, u := range bad {
		if res := fetch(u); res.StatusCode != http.StatusForbidden {
			t.Errorf("%s: GET %s = %d, want 403", name, u, res.StatusCode)
		}
	}
}
