package io.cosyvoice.voice;

/** Listing order by creation time. */
public enum SortOrder { ASC, DESC }
