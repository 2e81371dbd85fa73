package io.cosyvoice.text;

/** The language numbers and symbols are read in. */
enum Lang {
    ZH,
    EN;

    /**
     * The language of a text as a whole: Chinese when it has CJK characters and at least as many of
     * them as English words.
     */
    static Lang majority(int cjkCharacters, int words) {
        return cjkCharacters > 0 && cjkCharacters >= words ? ZH : EN;
    }
}
