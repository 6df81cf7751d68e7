/* bench/ossl_ed25519.c: loads libcrypto (OpenSSL 3, dynamically, as the
 * helpers do), lets it initialise, and makes and checks one Ed25519
 * signature through EVP. Beside /bin/true it shows what OpenSSL costs a
 * process that verifies one certificate signature. Exit 0 if it verified. */
#include <openssl/evp.h>

int main(void) {
  static const unsigned char msg[] = "certgate bench";
  unsigned char sig[64];
  size_t siglen = sizeof sig;
  int ok = 0;
  EVP_PKEY *key = NULL;
  EVP_PKEY_CTX *kctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  if (kctx && md && EVP_PKEY_keygen_init(kctx) == 1 && EVP_PKEY_keygen(kctx, &key) == 1 &&
      EVP_DigestSignInit(md, NULL, NULL, NULL, key) == 1 &&
      EVP_DigestSign(md, sig, &siglen, msg, sizeof msg) == 1) {
    EVP_MD_CTX_free(md);
    md = EVP_MD_CTX_new();
    ok = md && EVP_DigestVerifyInit(md, NULL, NULL, NULL, key) == 1 &&
         EVP_DigestVerify(md, sig, siglen, msg, sizeof msg) == 1;
  }
  EVP_MD_CTX_free(md);
  EVP_PKEY_free(key);
  EVP_PKEY_CTX_free(kctx);
  return ok ? 0 : 1;
}
