/* Test helper: an mTLS client whose CertificateVerify is signed with a key that does not match the certificate
 * it presents. Stock clients refuse to load such a pair, so the key is swapped after OpenSSL checked it: the
 * EVP_PKEY wraps a legacy EC_KEY whose private/public values are replaced (OpenSSL re-exports dirty legacy
 * keys before use). Deprecated API on purpose; this is test code only.
 *   tls-badkey HOST PORT CERT KEY OTHERKEY CAFILE   exit 0: got an HTTP response; 1: the handshake failed */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

static EVP_PKEY *read_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	return k;
}

int main(int argc, char **argv)
{
	SSL_CTX *ctx;
	SSL *ssl;
	EVP_PKEY *good, *other, *legacy;
	EC_KEY *ec;
	const EC_KEY *oec;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char buf[4096];
	int fd, n, rc = 1;

	if (argc != 7) {
		fprintf(stderr, "usage: tls-badkey HOST PORT CERT KEY OTHERKEY CAFILE\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	ctx = SSL_CTX_new(TLS_client_method());
	good = read_key(argv[4]);
	other = read_key(argv[5]);
	if (!ctx || !good || !other || SSL_CTX_use_certificate_chain_file(ctx, argv[3]) != 1 ||
	    SSL_CTX_load_verify_locations(ctx, argv[6], NULL) != 1) {
		fprintf(stderr, "tls-badkey: cannot load cert/keys/CA\n");
		return 2;
	}
	ec = EC_KEY_dup(EVP_PKEY_get0_EC_KEY(good));
	legacy = EVP_PKEY_new();
	if (!ec || !legacy || !EVP_PKEY_assign_EC_KEY(legacy, ec) || SSL_CTX_use_PrivateKey(ctx, legacy) != 1) {
		fprintf(stderr, "tls-badkey: cannot use the matching key\n");
		return 2;
	}
	oec = EVP_PKEY_get0_EC_KEY(other);
	if (!EC_KEY_set_private_key(ec, EC_KEY_get0_private_key(oec)) ||
	    !EC_KEY_set_public_key(ec, EC_KEY_get0_public_key(oec))) {
		fprintf(stderr, "tls-badkey: cannot swap the key\n");
		return 2;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	sa.sin_port = htons((unsigned short)atoi(argv[2]));
	inet_pton(AF_INET, argv[1], &sa.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("tls-badkey: connect");
		return 2;
	}
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) == 1) {
		const char req[] = "GET /v1/health HTTP/1.1\r\nHost: agent\r\nConnection: close\r\n\r\n";

		SSL_write(ssl, req, (int)sizeof(req) - 1);
		n = SSL_read(ssl, buf, sizeof(buf) - 1);
		if (n > 0) {
			buf[n] = 0;
			printf("%s\n", buf);
			rc = 0;
		}
	}
	if (rc) {
		fprintf(stderr, "tls-badkey: handshake refused: ");
		ERR_print_errors_fp(stderr);
	}
	SSL_free(ssl);
	close(fd);
	SSL_CTX_free(ctx);
	EVP_PKEY_free(good);
	EVP_PKEY_free(other);
	EVP_PKEY_free(legacy);
	return rc;
}
