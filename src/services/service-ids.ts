/** Service ids a session names in HELLO (Lightning's numbering: the CDN is service 0). */
export const CDN_SERVICE = 0
