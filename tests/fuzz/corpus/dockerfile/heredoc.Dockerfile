# syntax=docker/dockerfile:1
# Heredocs: RUN scripts, COPY files, quoted delimiters keep $ as written.
FROM busybox
ARG WHO=world
RUN <<EOF
echo "first line" > /hd-run
echo "$WHO" >> /hd-run
EOF
COPY <<EOT /hd-copy
hello ${WHO}
EOT
COPY <<"EOT" /hd-raw
hello ${WHO}
EOT
RUN cat <<EOF > /hd-inline
inline $WHO
EOF
