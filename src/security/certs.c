/* certs: key and certificate files. Generation uses mbedTLS only. mbedTLS
   2.28 cannot write a subjectAltName extension itself, so build_san()
   encodes GeneralNames (RFC 5280 4.2.1.6) with its ASN.1 writer. Runs on
   the main thread; never touches the live TLS configuration (tls.c does). */
#include "meshwatch/certs.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <mbedtls/asn1write.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "meshwatch/log.h"
#include "meshwatch/util.h"

void
certs_key_path(const char *dir, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/key.pem", dir);
}

void
certs_cert_path(const char *dir, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/cert.pem", dir);
}

static int
add_san(char sans[][CERTS_SAN_LEN], int n, int max, const char *s)
{
	if (s == NULL || *s == '\0' || strlen(s) >= CERTS_SAN_LEN || n >= max)
		return n;
	for (int i = 0; i < n; i++)
		if (strcmp(sans[i], s) == 0)
			return n;
	strcpy(sans[n], s);
	return n + 1;
}

int
certs_local_sans(const char *name, const char *addr, const char *extra, char sans[][CERTS_SAN_LEN], int max)
{
	int n = 0;
	n = add_san(sans, n, max, name);
	if (addr && strcmp(addr, "0.0.0.0") != 0 && strcmp(addr, "::") != 0)
		n = add_san(sans, n, max, addr);
	for (const char *q = extra ? extra : ""; *q;) {
		char one[CERTS_SAN_LEN];
		size_t len = strcspn(q, ", ");
		if (len > 0 && len < sizeof one) {
			memcpy(one, q, len);
			one[len] = '\0';
			if (mw_valid_san(one))
				n = add_san(sans, n, max, one);
		}
		q += len;
		q += strspn(q, ", ");
	}
	if (n == 0)
		n = add_san(sans, n, max, "localhost"); /* a SAN extension may not be empty */
	return n;
}

/* Encodes GeneralNames: dNSName [2] for names, iPAddress [7] for addresses.
   The ASN.1 writer fills the buffer from its end; returns the length and
   sets *start, or a negative code. */
static int
build_san(char sans[][CERTS_SAN_LEN], int n, unsigned char *buf, size_t size, unsigned char **start)
{
	unsigned char *p = buf + size;
	size_t len = 0;
	int r;
	for (int i = n - 1; i >= 0; i--) {
		unsigned char ip[16];
		size_t iplen = 0, one = 0;
		if (inet_pton(AF_INET, sans[i], ip) == 1)
			iplen = 4;
		else if (inet_pton(AF_INET6, sans[i], ip) == 1)
			iplen = 16;
		if (iplen) {
			if ((r = mbedtls_asn1_write_raw_buffer(&p, buf, ip, iplen)) < 0)
				return r;
			one += (size_t)r;
		} else {
			if ((r = mbedtls_asn1_write_raw_buffer(&p, buf, (const unsigned char *)sans[i], strlen(sans[i]))) < 0)
				return r;
			one += (size_t)r;
		}
		if ((r = mbedtls_asn1_write_len(&p, buf, one)) < 0)
			return r;
		one += (size_t)r;
		if ((r = mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONTEXT_SPECIFIC | (iplen ? 7 : 2))) < 0)
			return r;
		one += (size_t)r;
		len += one;
	}
	if ((r = mbedtls_asn1_write_len(&p, buf, len)) < 0)
		return r;
	len += (size_t)r;
	if ((r = mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)) < 0)
		return r;
	len += (size_t)r;
	*start = p;
	return (int)len;
}

static int64_t
x509_time_to_epoch(const mbedtls_x509_time *t)
{
	struct tm tm = {0};
	tm.tm_year = t->year - 1900;
	tm.tm_mon = t->mon - 1;
	tm.tm_mday = t->day;
	tm.tm_hour = t->hour;
	tm.tm_min = t->min;
	tm.tm_sec = t->sec;
	return (int64_t)timegm(&tm);
}

static void
fill_info(const mbedtls_x509_crt *crt, struct cert_info *info)
{
	unsigned char digest[32];
	memset(info, 0, sizeof *info);
	info->not_before = x509_time_to_epoch(&crt->valid_from);
	info->not_after = x509_time_to_epoch(&crt->valid_to);
	mbedtls_sha256_ret(crt->raw.p, crt->raw.len, digest, 0);
	mw_hex(digest, sizeof digest, info->fingerprint);
	mbedtls_x509_dn_gets(info->subject, sizeof info->subject, &crt->subject);
	for (const mbedtls_x509_sequence *s = &crt->subject_alt_names; s && s->buf.p && info->san_count < CERTS_MAX_SANS;
	     s = s->next) {
		char *out = info->sans[info->san_count];
		int tag = s->buf.tag & 0x1f;
		if (tag == 2 && s->buf.len < CERTS_SAN_LEN) {
			memcpy(out, s->buf.p, s->buf.len);
			out[s->buf.len] = '\0';
		} else if (tag == 7 && s->buf.len == 4) {
			inet_ntop(AF_INET, s->buf.p, out, CERTS_SAN_LEN);
		} else if (tag == 7 && s->buf.len == 16) {
			inet_ntop(AF_INET6, s->buf.p, out, CERTS_SAN_LEN);
		} else {
			continue;
		}
		info->san_count++;
	}
}

int
certs_read_info(const char *path, struct cert_info *info)
{
	mbedtls_x509_crt crt;
	mbedtls_x509_crt_init(&crt);
	int rc = mbedtls_x509_crt_parse_file(&crt, path);
	if (rc == 0)
		fill_info(&crt, info);
	mbedtls_x509_crt_free(&crt);
	return rc == 0 ? 0 : MW_ECRYPTO;
}

static void
fmt_x509_time(int64_t t, char out[16])
{
	struct tm tm;
	time_t tt = (time_t)t;
	gmtime_r(&tt, &tm);
	strftime(out, 16, "%Y%m%d%H%M%S", &tm);
}

/* Not inlined: its 33 KB of SAN buffers would otherwise sit in
   certs_ensure's frame on every start and every certificate check, below
   which the rest of the check runs (stack kept resident in the main thread
   for the node's whole life). */
__attribute__((noinline)) static int
write_cert(const struct certs_opts *o, mbedtls_pk_context *key, mbedtls_ctr_drbg_context *drbg, const char *path,
    char *err, size_t errlen)
{
	mbedtls_x509write_cert crt;
	mbedtls_mpi serial;
	unsigned char *pem = NULL, *san_start = NULL;
	unsigned char sanbuf[CERTS_MAX_SANS * (CERTS_SAN_LEN + 4) + 16];
	char sans[CERTS_MAX_SANS][CERTS_SAN_LEN];
	char subject[320], from[16], to[16];
	int rc = MW_ECRYPTO, r;
	mbedtls_x509write_crt_init(&crt);
	mbedtls_mpi_init(&serial);

	char host[200] = "meshwatch";
	if (o->name && *o->name)
		snprintf(host, sizeof host, "%s", o->name);
	else if (gethostname(host, sizeof host) != 0)
		strcpy(host, "meshwatch");
	host[sizeof host - 1] = '\0';
	/* A DN value cannot hold unescaped commas or equals signs. */
	for (char *c = host; *c; c++)
		if (*c == ',' || *c == '=' || *c == '+')
			*c = '-';
	snprintf(subject, sizeof subject, "CN=%s,O=meshwatch", host);

	int64_t now = mw_wall_s();
	fmt_x509_time(now - 3600, from); /* an hour of slack for skewed peer clocks */
	fmt_x509_time(now + o->validity_s, to);
	unsigned char sb[16];
	mw_random(sb, sizeof sb);
	sb[0] &= 0x7f;
	sb[0] |= 0x01;
	int nsans = certs_local_sans(o->name, o->listen_addr, o->extra_sans, sans, CERTS_MAX_SANS);
	int sanlen = build_san(sans, nsans, sanbuf, sizeof sanbuf, &san_start);

	mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&crt, key);
	mbedtls_x509write_crt_set_issuer_key(&crt, key);
	if ((r = mbedtls_mpi_read_binary(&serial, sb, sizeof sb)) != 0 ||
	    (r = mbedtls_x509write_crt_set_serial(&crt, &serial)) != 0 ||
	    (r = mbedtls_x509write_crt_set_subject_name(&crt, subject)) != 0 ||
	    (r = mbedtls_x509write_crt_set_issuer_name(&crt, subject)) != 0 ||
	    (r = mbedtls_x509write_crt_set_validity(&crt, from, to)) != 0 ||
	    (r = mbedtls_x509write_crt_set_basic_constraints(&crt, 0, -1)) != 0 ||
	    (r = mbedtls_x509write_crt_set_key_usage(&crt, MBEDTLS_X509_KU_DIGITAL_SIGNATURE)) != 0 ||
	    (r = mbedtls_x509write_crt_set_subject_key_identifier(&crt)) != 0 || sanlen < 0 ||
	    (r = mbedtls_x509write_crt_set_extension(&crt, MBEDTLS_OID_SUBJECT_ALT_NAME,
	         MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0, san_start, (size_t)sanlen)) != 0) {
		snprintf(err, errlen, "cannot build certificate (mbedTLS -0x%04x)", (unsigned)-r);
		goto out;
	}
	size_t pemsize = 8192;
	pem = calloc(1, pemsize);
	if (pem == NULL) {
		rc = MW_ENOMEM;
		goto out;
	}
	if ((r = mbedtls_x509write_crt_pem(&crt, pem, pemsize, mbedtls_ctr_drbg_random, drbg)) != 0) {
		snprintf(err, errlen, "cannot sign certificate (mbedTLS -0x%04x)", (unsigned)-r);
		goto out;
	}
	if (mw_write_file_atomic(path, pem, strlen((char *)pem), 0644) != 0) {
		snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
		rc = MW_EIO;
		goto out;
	}
	rc = 0;
out:
	free(pem);
	mbedtls_mpi_free(&serial);
	mbedtls_x509write_crt_free(&crt);
	return rc;
}

__attribute__((noinline)) static int
generate_key(mbedtls_pk_context *key, mbedtls_ctr_drbg_context *drbg, const char *path, char *err, size_t errlen)
{
	unsigned char pem[1024];
	int r;
	if ((r = mbedtls_pk_setup(key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY))) != 0 ||
	    (r = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*key), mbedtls_ctr_drbg_random, drbg)) != 0 ||
	    (r = mbedtls_pk_write_key_pem(key, pem, sizeof pem)) != 0) {
		snprintf(err, errlen, "cannot generate an ECDSA P-256 key (mbedTLS -0x%04x)", (unsigned)-r);
		return MW_ECRYPTO;
	}
	if (mw_write_file_atomic(path, pem, strlen((char *)pem), 0600) != 0) {
		snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
		return MW_EIO;
	}
	return 0;
}

/* 1 when the certificate lists exactly the names certs_local_sans gives. */
static int
sans_match(const struct certs_opts *o, const struct cert_info *info)
{
	char(*want)[CERTS_SAN_LEN] = calloc(CERTS_MAX_SANS, sizeof *want);
	if (want == NULL)
		return 1; /* cannot tell: keep what is there */
	int n = certs_local_sans(o->name, o->listen_addr, o->extra_sans, want, CERTS_MAX_SANS);
	int same = n == info->san_count;
	for (int i = 0; i < n && same; i++) {
		int found = 0;
		for (int k = 0; k < info->san_count && !found; k++)
			found = strcmp(want[i], info->sans[k]) == 0;
		same = found;
	}
	free(want);
	return same;
}

int
certs_ensure(const struct certs_opts *o, struct cert_info *info, char *err, size_t errlen)
{
	char keypath[4096], certpath[4096];
	mbedtls_pk_context key;
	mbedtls_x509_crt crt;
	mbedtls_ctr_drbg_context drbg;
	int rc = 0, key_ok = 0, cert_ok = 0;
	const char *why = NULL;

	mbedtls_pk_init(&key);
	mbedtls_x509_crt_init(&crt);
	mbedtls_ctr_drbg_init(&drbg);

	if (mw_mkdir_p(o->dir, 0700) != 0) {
		snprintf(err, errlen, "%s: cannot create certificate directory: %s", o->dir, strerror(errno));
		rc = MW_EIO;
		goto out;
	}
	certs_key_path(o->dir, keypath, sizeof keypath);
	certs_cert_path(o->dir, certpath, sizeof certpath);

	if (access(keypath, F_OK) == 0) {
		if (mbedtls_pk_parse_keyfile(&key, keypath, NULL) == 0 && mbedtls_pk_get_type(&key) == MBEDTLS_PK_ECKEY) {
			key_ok = 1;
			chmod(keypath, 0600);
		} else {
			log_warn("cert", "%s is unreadable or not an EC key: replacing key and certificate", keypath);
			mbedtls_pk_free(&key);
			mbedtls_pk_init(&key);
		}
	}
	if (key_ok && access(certpath, F_OK) == 0) {
		if (mbedtls_x509_crt_parse_file(&crt, certpath) != 0) {
			why = "is unreadable or corrupt";
		} else if (mbedtls_pk_check_pair(&crt.pk, &key) != 0) {
			why = "does not match the key";
		} else {
			fill_info(&crt, info);
			int64_t now = mw_wall_s();
			if (info->not_after <= now)
				why = "has expired";
			else if (info->not_after - now < o->renew_before_s)
				why = "is due for renewal";
			else if (!sans_match(o, info))
				why = "lists other names than this node's (name, advertised address, cert_extra_sans)";
			else
				cert_ok = 1;
		}
		if (why)
			log_warn("cert", "%s %s: writing a new certificate", certpath, why);
	}
	if (key_ok && cert_ok)
		goto out;

	if ((rc = mbedtls_ctr_drbg_seed(&drbg, mw_drbg_entropy, NULL, (const unsigned char *)"meshwatch-certs", 15)) != 0) {
		snprintf(err, errlen, "cannot seed the random generator (mbedTLS -0x%04x)", (unsigned)-rc);
		rc = MW_ECRYPTO;
		goto out;
	}
	if (!key_ok && (rc = generate_key(&key, &drbg, keypath, err, errlen)) != 0)
		goto out;
	if ((rc = write_cert(o, &key, &drbg, certpath, err, errlen)) != 0)
		goto out;
	if ((rc = certs_read_info(certpath, info)) != 0) {
		snprintf(err, errlen, "%s: the certificate just written does not parse", certpath);
		goto out;
	}
	log_info("cert", "new certificate %s: valid until %lld, %d names, SHA-256 %s", certpath,
	    (long long)info->not_after, info->san_count, info->fingerprint);
	rc = 1;
out:
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_x509_crt_free(&crt);
	mbedtls_pk_free(&key);
	return rc;
}
