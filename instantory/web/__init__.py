"""The server-rendered pages for signed-in users: the home page (items, documents, uploads, search) and sign-in."""
