package kmod

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
)

// SignatureMagic ends a module file that carries an appended signature
// (scripts/sign-file, include/linux/module_signature.h's MODULE_SIG_STRING).
const SignatureMagic = "~Module signature appended~\n"

// sigInfoSize is struct module_signature: u8 algo, hash, id_type,
// signer_len, key_id_len, pad[3]; __be32 sig_len.
const sigInfoSize = 12

// Signature id types (module_signature.h's PKEY_ID_*).
const (
	idPGP   = 0
	idX509  = 1
	idPKCS7 = 2
)

// ErrNoSignature says the file carries no appended signature.
var ErrNoSignature = errors.New("no appended module signature")

// Signature is what vigil reads from a module's appended signature. It
// does not check the signature: the kernel does, at load, against its
// keyrings; Signer and KeyID say which key the signature claims.
type Signature struct {
	// IDType is "PKCS#7" (what sign-file writes), "X.509" or "PGP".
	IDType string `json:"id_type"`
	// Signer is the common name of the signing certificate's issuer
	// (what modinfo prints as signer), Issuer the whole name; KeyID the
	// certificate's serial number, or its subject key identifier, in hex.
	Signer   string `json:"signer,omitempty"`
	Issuer   string `json:"issuer,omitempty"`
	KeyID    string `json:"key_id,omitempty"`
	HashAlgo string `json:"hash_algo,omitempty"`
	// Length is the signature's size in bytes, Offset where it starts:
	// the module image the kernel hashes is the file's first Offset bytes.
	Length int `json:"length"`
	Offset int `json:"-"`
}

// ReadSignature reads the signature appended to a module image.
func ReadSignature(image []byte) (Signature, error) {
	n := len(image)
	if n < len(SignatureMagic)+sigInfoSize || !bytes.HasSuffix(image, []byte(SignatureMagic)) {
		return Signature{}, ErrNoSignature
	}
	info := image[n-len(SignatureMagic)-sigInfoSize : n-len(SignatureMagic)]
	sigLen := int(binary.BigEndian.Uint32(info[8:12]))
	end := n - len(SignatureMagic) - sigInfoSize
	if sigLen == 0 || sigLen > end {
		return Signature{}, fmt.Errorf("module signature: length %d does not fit a %d-byte image", sigLen, n)
	}
	sig := Signature{Length: sigLen, Offset: end - sigLen}
	body := image[sig.Offset:end]
	switch info[2] {
	case idPKCS7:
		sig.IDType = "PKCS#7"
		if err := readPKCS7(body, &sig); err != nil {
			return sig, fmt.Errorf("module signature: %w", err)
		}
	case idX509:
		sig.IDType = "X.509"
	case idPGP:
		sig.IDType = "PGP"
	default:
		return sig, fmt.Errorf("module signature: id type %d unknown", info[2])
	}
	return sig, nil
}

var (
	oidSignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	hashNames     = map[string]string{
		"1.3.14.3.2.26":           "sha1",
		"2.16.840.1.101.3.4.2.1":  "sha256",
		"2.16.840.1.101.3.4.2.2":  "sha384",
		"2.16.840.1.101.3.4.2.3":  "sha512",
		"2.16.840.1.101.3.4.2.4":  "sha224",
		"2.16.840.1.101.3.4.2.8":  "sha3-256",
		"2.16.840.1.101.3.4.2.9":  "sha3-384",
		"2.16.840.1.101.3.4.2.10": "sha3-512",
	}
)

// readPKCS7 reads the first SignerInfo of a PKCS#7 SignedData (RFC 2315):
// its issuer and serial number (or subject key identifier) and digest
// algorithm. sign-file leaves the certificate out, so these are all the
// signature says of its signer.
func readPKCS7(der []byte, sig *Signature) error {
	top, err := children(der, asn1.TagSequence, "ContentInfo")
	if err != nil {
		return err
	}
	var oid asn1.ObjectIdentifier
	if len(top) < 2 {
		return errors.New("PKCS#7 ContentInfo: too short")
	}
	if _, err := asn1.Unmarshal(top[0].FullBytes, &oid); err != nil || !oid.Equal(oidSignedData) {
		return fmt.Errorf("PKCS#7 content type %v: want signedData", oid)
	}
	if top[1].Class != asn1.ClassContextSpecific || top[1].Tag != 0 {
		return errors.New("PKCS#7 ContentInfo: no [0] content")
	}
	sd, err := children(top[1].Bytes, asn1.TagSequence, "SignedData")
	if err != nil {
		return err
	}
	last := sd[len(sd)-1]
	if len(sd) < 4 || last.Class != asn1.ClassUniversal || last.Tag != asn1.TagSet {
		return errors.New("PKCS#7 SignedData: no signerInfos")
	}
	infos, err := elements(last.Bytes)
	if err != nil || len(infos) == 0 {
		return errors.New("PKCS#7 SignedData: no SignerInfo")
	}
	si, err := children(infos[0].FullBytes, asn1.TagSequence, "SignerInfo")
	if err != nil {
		return err
	}
	if len(si) < 3 {
		return errors.New("PKCS#7 SignerInfo: too short")
	}
	if err := readSignerID(si[1], sig); err != nil {
		return err
	}
	var alg pkix.AlgorithmIdentifier
	if _, err := asn1.Unmarshal(si[2].FullBytes, &alg); err != nil {
		return fmt.Errorf("PKCS#7 digestAlgorithm: %w", err)
	}
	sig.HashAlgo = hashNames[alg.Algorithm.String()]
	if sig.HashAlgo == "" {
		sig.HashAlgo = alg.Algorithm.String()
	}
	return nil
}

// readSignerID reads a SignerInfo's sid: IssuerAndSerialNumber, or [0]
// SubjectKeyIdentifier (CMS, sign-file -k).
func readSignerID(v asn1.RawValue, sig *Signature) error {
	if v.Class == asn1.ClassContextSpecific && v.Tag == 0 {
		sig.KeyID = hex.EncodeToString(v.Bytes)
		return nil
	}
	var ias struct {
		Issuer asn1.RawValue
		Serial *big.Int
	}
	if _, err := asn1.Unmarshal(v.FullBytes, &ias); err != nil {
		return fmt.Errorf("PKCS#7 issuerAndSerialNumber: %w", err)
	}
	var rdn pkix.RDNSequence
	if _, err := asn1.Unmarshal(ias.Issuer.FullBytes, &rdn); err != nil {
		return fmt.Errorf("PKCS#7 issuer: %w", err)
	}
	var name pkix.Name
	name.FillFromRDNSequence(&rdn)
	sig.Signer, sig.Issuer = name.CommonName, rdn.String()
	sig.KeyID = hex.EncodeToString(ias.Serial.Bytes())
	return nil
}

// children parses der as one universal element with the given tag and
// returns the elements inside it.
func children(der []byte, tag int, what string) ([]asn1.RawValue, error) {
	var v asn1.RawValue
	if _, err := asn1.Unmarshal(der, &v); err != nil {
		return nil, fmt.Errorf("PKCS#7 %s: %w", what, err)
	}
	if v.Class != asn1.ClassUniversal || v.Tag != tag || !v.IsCompound {
		return nil, fmt.Errorf("PKCS#7 %s: tag %d, want %d", what, v.Tag, tag)
	}
	out, err := elements(v.Bytes)
	if err != nil {
		return nil, fmt.Errorf("PKCS#7 %s: %w", what, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("PKCS#7 %s: empty", what)
	}
	return out, nil
}

// elements splits the contents of a constructed element.
func elements(b []byte) ([]asn1.RawValue, error) {
	var out []asn1.RawValue
	for len(b) > 0 {
		var v asn1.RawValue
		rest, err := asn1.Unmarshal(b, &v)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		b = rest
	}
	return out, nil
}
