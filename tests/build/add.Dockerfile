# ADD: local tars extracted (detected by content, any compression), plain files copied.
FROM busybox
ADD archive.tar.gz /extracted/
ADD archive.tar.xz /xz/
ADD notatar.tar /plain/
ADD a.txt /added-file
