"""The public directory (danh bạ): pages per agency, search, portal exports, and each
person's choice of what the directory shows about them."""
