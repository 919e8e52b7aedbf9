/* Keeps the library non-empty while parts land; holds nothing. */
int colo_placeholder_;
