/* Keeps the library non-empty while parts land; holds nothing. */
int qmp_placeholder_;
