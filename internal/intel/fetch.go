package intel

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// validator is what makes the next request for a document conditional:
// its ETag and Last-Modified over HTTP, its size and mtime on disk.
type validator struct {
	etag, lastModified string
	size               int64
	mtime              time.Time
}

// errNotFound is a document that does not exist (404, no such file).
var errNotFound = errors.New("not found")

// isRemote says whether loc is a URL rather than a path.
func isRemote(loc string) bool {
	return strings.HasPrefix(loc, "http://") || strings.HasPrefix(loc, "https://")
}

// join names a document in the feed directory or URL base.
func join(base, name string) string {
	if isRemote(base) {
		u, err := url.Parse(base)
		if err != nil {
			return strings.TrimSuffix(base, "/") + "/" + name
		}
		return u.JoinPath(name).String()
	}
	return filepath.Join(base, name)
}

// newHTTPClient trusts the system's roots and, when given, the PEM
// bundle in caFile.
func newHTTPClient(caFile string, timeout time.Duration) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: timeout}, nil
}

// fetch reads loc unless it is unchanged since prev (then notModified),
// at most max bytes.
func fetch(ctx context.Context, client *http.Client, loc string, prev validator, max int64) (body []byte, v validator, notModified bool, err error) {
	if !isRemote(loc) {
		return readLocal(loc, prev, max)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc, nil)
	if err != nil {
		return nil, v, false, &RefreshError{Reason: ReasonConfig, Err: fmt.Errorf("URL %s: %w", Redact(loc), err)}
	}
	if prev.etag != "" {
		req.Header.Set("If-None-Match", prev.etag)
	}
	if prev.lastModified != "" {
		req.Header.Set("If-Modified-Since", prev.lastModified)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, v, false, unreachable(loc, err)
	}
	defer func() { _ = resp.Body.Close() }() // read whole or given up
	switch resp.StatusCode {
	case http.StatusNotModified:
		return nil, prev, true, nil
	case http.StatusOK:
	case http.StatusNotFound:
		return nil, v, false, &RefreshError{Reason: ReasonHTTP, Where: Redact(loc), Err: errNotFound}
	default:
		return nil, v, false, &RefreshError{Reason: ReasonHTTP, Where: Redact(loc), Err: fmt.Errorf("HTTP %s", resp.Status)}
	}
	body, err = readBody(resp, max)
	if err != nil {
		return nil, v, false, withWhere(err, Redact(loc))
	}
	v = validator{etag: resp.Header.Get("ETag"), lastModified: resp.Header.Get("Last-Modified")}
	return body, v, false, nil
}

// readBody reads a response whole, refusing one over max bytes or
// shorter than its Content-Length.
func readBody(resp *http.Response, max int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, &RefreshError{Reason: ReasonTruncated, Err: fmt.Errorf("body ends after %d of %d bytes", len(body), resp.ContentLength)}
		}
		return nil, &RefreshError{Reason: ReasonUnreachable, Err: fmt.Errorf("read body: %w", err)}
	}
	if int64(len(body)) > max {
		return nil, &RefreshError{Reason: ReasonTooMany, Err: fmt.Errorf("body over %d bytes", max)}
	}
	if resp.ContentLength >= 0 && int64(len(body)) != resp.ContentLength {
		return nil, &RefreshError{Reason: ReasonTruncated, Err: fmt.Errorf("body has %d of %d bytes", len(body), resp.ContentLength)}
	}
	return body, nil
}

// readLocal reads a file unless its size and mtime are prev's.
func readLocal(path string, prev validator, max int64) ([]byte, validator, bool, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, validator{}, false, &RefreshError{Reason: ReasonUnreachable, Where: path, Err: errNotFound}
	}
	if err != nil {
		return nil, validator{}, false, &RefreshError{Reason: ReasonUnreachable, Where: path, Err: err}
	}
	v := validator{size: fi.Size(), mtime: fi.ModTime()}
	if !prev.mtime.IsZero() && v.size == prev.size && v.mtime.Equal(prev.mtime) {
		return nil, prev, true, nil
	}
	if fi.Size() > max {
		return nil, v, false, &RefreshError{Reason: ReasonTooMany, Where: path, Err: fmt.Errorf("file over %d bytes", max)}
	}
	body, err := os.ReadFile(path)
	if err != nil {
		return nil, v, false, &RefreshError{Reason: ReasonUnreachable, Where: path, Err: err}
	}
	return body, v, false, nil
}

// unreachable wraps a transport error without the URL's credentials (Go's
// url.Error carries the whole URL).
func unreachable(loc string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &RefreshError{Reason: ReasonUnreachable, Where: Redact(loc), Err: err}
}

// withWhere sets a RefreshError's position when it has none.
func withWhere(err error, where string) error {
	var re *RefreshError
	if errors.As(err, &re) && re.Where == "" {
		re.Where = where
	}
	return err
}

// isNotFound says whether err is a 404 or a missing file.
func isNotFound(err error) bool { return errors.Is(err, errNotFound) }

// Redact removes a URL's user information and the values of its query
// (where API keys hide); a path stays as it is.
func Redact(loc string) string {
	if !isRemote(loc) {
		return loc
	}
	u, err := url.Parse(loc)
	if err != nil {
		return "<unparsable URL>"
	}
	u.User = nil
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			q[k] = []string{"REDACTED"}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// trimBOM drops a UTF-8 byte order mark.
func trimBOM(b []byte) []byte { return bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) }
