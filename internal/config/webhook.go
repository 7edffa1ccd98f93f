package config

import (
	"net/url"

	"go.yaml.in/yaml/v3"

	"github.com/vigil-sec/vigil/internal/output/webhook"
)

func (d *decoder) webhookOutput(n *yaml.Node, field string) *webhook.Options {
	o := &webhook.Options{Payload: webhook.PayloadVigil}
	f, ok := d.mapping(n, field, "url", "payload", "batch_size", "timeout", "min_backoff", "max_backoff",
		"max_retries", "headers", "auth", "tls")
	if !ok {
		return o
	}
	if v := f["url"]; v != nil {
		o.URL = d.str(v, field+".url")
		d.checkURL(v, field+".url", o.URL)
	} else {
		d.errorf(n, field+".url", "missing: where to POST, e.g. https://siem.example.com/vigil")
	}
	if v := f["payload"]; v != nil {
		o.Payload = webhook.Payload(d.str(v, field+".payload"))
		if o.Payload != webhook.PayloadVigil && o.Payload != webhook.PayloadFalco {
			d.errorf(v, field+".payload", "%q: want vigil (JSON arrays of vigil's schema) or falco (what falcosidekick accepts)", o.Payload)
		}
	}
	decodeKey(f, field, "batch_size", &o.BatchSize, d.atLeast(1))
	decodeKey(f, field, "timeout", &o.Timeout, d.duration)
	decodeKey(f, field, "min_backoff", &o.MinBackoff, d.duration)
	decodeKey(f, field, "max_backoff", &o.MaxBackoff, d.duration)
	decodeKey(f, field, "max_retries", &o.MaxRetries, d.atLeast(0))
	decodeKey(f, field, "headers", &o.Headers, d.stringMap)
	if v := f["auth"]; v != nil {
		d.auth(v, field+".auth", o)
	}
	if v := f["tls"]; v != nil {
		o.TLS = d.tls(v, field+".tls")
	}
	return o
}

func (d *decoder) checkURL(n *yaml.Node, field, raw string) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		d.errorf(n, field, "%q is not a URL: %v", raw, err)
	case u.Scheme == "":
		d.errorf(n, field, "missing scheme: want http:// or https://")
	case u.Scheme != "http" && u.Scheme != "https":
		d.errorf(n, field, "scheme %q: want http or https", u.Scheme)
	case u.Host == "":
		d.errorf(n, field, "missing host")
	}
}

func (d *decoder) auth(n *yaml.Node, field string, o *webhook.Options) {
	f, ok := d.mapping(n, field, "bearer_token", "bearer_token_file", "username", "password", "password_file")
	if !ok {
		return
	}
	o.BearerToken = d.secret(f, "bearer_token", field)
	decodeKey(f, field, "username", &o.Username, d.str)
	o.Password = d.secret(f, "password", field)
	if o.BearerToken != "" && o.Username != "" {
		d.errorf(n, field, "set a bearer token or a username and password, not both")
	}
	if o.Password != "" && o.Username == "" {
		d.errorf(n, field+".username", "missing: a password goes with a username")
	}
}

func (d *decoder) tls(n *yaml.Node, field string) webhook.TLSOptions {
	var t webhook.TLSOptions
	f, ok := d.mapping(n, field, "ca_file", "cert_file", "key_file", "server_name", "insecure_skip_verify")
	if !ok {
		return t
	}
	decodeKey(f, field, "ca_file", &t.CAFile, d.str)
	decodeKey(f, field, "cert_file", &t.CertFile, d.str)
	decodeKey(f, field, "key_file", &t.KeyFile, d.str)
	if (t.CertFile == "") != (t.KeyFile == "") {
		d.errorf(n, field, "cert_file and key_file go together")
	}
	decodeKey(f, field, "server_name", &t.ServerName, d.str)
	decodeKey(f, field, "insecure_skip_verify", &t.InsecureSkipVerify, d.boolean)
	return t
}
