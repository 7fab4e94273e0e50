"""Linux primitives shared by the back ends (``nft`` and ``lab``); they import nothing above ``errors``."""
