from gerbang.browser import browser, new_page, site_url  # noqa: F401
