#!/usr/bin/python3
"""Makes a Google service-account key for the tests: keygen.py DIR EMAIL TOKEN_URI
writes DIR/service-account.json (mode 0600, as Google's console issues it: type,
project_id, private_key_id, private_key in PKCS#8 PEM, client_email, token_uri) and
DIR/public.pem (what the emulator verifies JWTs with)."""
import json
import os
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

folder, email, token_uri = sys.argv[1:4]
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption()).decode()
account = {"type": "service_account", "project_id": "convene-test", "private_key_id": "k1" + "0" * 38,
           "private_key": pem, "client_email": email, "client_id": "1234567890",
           "token_uri": token_uri}
path = os.path.join(folder, "service-account.json")
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as f:
    json.dump(account, f, indent=2)
with open(os.path.join(folder, "public.pem"), "wb") as f:
    f.write(key.public_key().public_bytes(serialization.Encoding.PEM,
                                          serialization.PublicFormat.SubjectPublicKeyInfo))
