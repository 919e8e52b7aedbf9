/* Keeps the library non-empty while parts land; holds nothing. */
int dm_placeholder_;
