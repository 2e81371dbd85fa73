package io.cosyvoice.storage;

/** No object under the key. */
public class BlobNotFoundException extends StorageException {
    public BlobNotFoundException(String key) {
        super("no object under key " + key);
    }
}
