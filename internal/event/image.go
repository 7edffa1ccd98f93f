package event

import "strings"

// ImageRef is a container image reference cut into its parts, as Falco's
// container.image.repository, .tag and .digest name them.
type ImageRef struct {
	// Repository is everything before the tag or digest, registry (and
	// its port) included: "localhost:5000/shop/api".
	Repository string
	// Tag is "" when the reference has only a digest, "latest" when it
	// has neither (what a runtime pulls for it).
	Tag string
	// Digest is the "sha256:…" after an "@", if any.
	Digest string
}

// ParseImage cuts an image reference ("registry:port/repo:tag@digest",
// any part but the repository optional). A ':' is a tag's only after the
// last '/', so a registry's port is never taken for a tag.
//
// A bare image id ("sha256:…", what a runtime reports when it knows no
// name for the image) is no reference: it is the repository, with no tag,
// rather than a repository "sha256" tagged with the hash.
func ParseImage(image string) ImageRef {
	var r ImageRef
	if strings.HasPrefix(image, "sha256:") && !strings.ContainsAny(image, "/@") {
		return ImageRef{Repository: image}
	}
	if i := strings.IndexByte(image, '@'); i >= 0 {
		image, r.Digest = image[:i], image[i+1:]
	}
	slash := strings.LastIndexByte(image, '/')
	if i := strings.LastIndexByte(image, ':'); i > slash {
		image, r.Tag = image[:i], image[i+1:]
	} else if r.Digest == "" {
		r.Tag = "latest"
	}
	r.Repository = image
	return r
}

// ShortContainerID is the 12-character form of a container id that
// docker, crictl and Falco's container.id show; other ids ("host", "")
// are returned whole.
func ShortContainerID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
