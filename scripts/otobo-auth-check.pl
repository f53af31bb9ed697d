#!/usr/bin/perl
# OTOBO's customer password check, Kernel/System/CustomerAuth/DB.pm::Auth, step by step, with
# the Perl modules OTOBO itself uses (Crypt::Eksblowfish::Bcrypt, Digest::SHA,
# Crypt::PasswdMD5). The tests use it as an implementation that is not Clientele's: a value
# Clientele writes beside a running OTOBO must pass here.
#
# Input on stdin, four fields separated by NUL bytes, as raw (UTF-8) octets:
#   CryptType NUL login NUL stored value NUL password
# Prints "ok" and exits 0 when OTOBO would let the user in, prints "refused" and exits 1
# otherwise; exits 2 when a module is missing or the input is malformed.
use strict;
use warnings;

binmode STDIN;
binmode STDOUT;
local $/;
my $input = <STDIN>;
my @fields = split /\0/, $input, 4;
if ( @fields != 4 ) {
    print STDERR "expected CryptType, login, stored value and password separated by NUL\n";
    exit 2;
}
my ( $CryptType, $User, $GetPw, $Pw ) = @fields;

sub refused { print "refused\n"; exit 1; }

# "An empty Pw is refused."
refused() if !defined $Pw || $Pw eq '';
refused() if !defined $GetPw;

my $CryptedPw = '';
my $Salt      = $GetPw;

if ( $CryptType eq 'plain' ) {
    # CryptType plain: the raw strings are compared.
    $CryptedPw = $Pw;
}
elsif ( length $GetPw != 13 ) {
    if ( $GetPw =~ m{\A \$.+? \$.+? \$.* \z}xms ) {
        require Crypt::PasswdMD5;
        $Salt =~ s/^\$.+?\$(.+?)\$.*$/$1/;
        if ( $GetPw =~ m{^\$apr1\$} ) {
            $CryptedPw = Crypt::PasswdMD5::apache_md5_crypt( $Pw, $Salt );
        }
        else {
            $CryptedPw = Crypt::PasswdMD5::unix_md5_crypt( $Pw, $Salt );
        }
    }
    elsif ( $GetPw =~ m{\A [0-9a-f]{64} \z}xmsi ) {
        require Digest::SHA;
        my $SHAObject = Digest::SHA->new('sha256');
        $SHAObject->add($Pw);
        $CryptedPw = $SHAObject->hexdigest();
    }
    elsif ( $GetPw =~ m{\A [0-9a-f]{128} \z}xmsi ) {
        require Digest::SHA;
        my $SHAObject = Digest::SHA->new('sha512');
        $SHAObject->add($Pw);
        $CryptedPw = $SHAObject->hexdigest();
    }
    elsif ( $GetPw =~ m{^BCRYPT:} ) {
        require Crypt::Eksblowfish::Bcrypt;
        my ( $Cost, $BcryptSalt, $Base64Hash ) = $GetPw =~ m{^BCRYPT:(\d+):(.{16}):(.*)$}xms;
        refused() if !defined $Cost;
        my $Octets = Crypt::Eksblowfish::Bcrypt::bcrypt_hash(
            {
                key_nul => 1,
                cost    => $Cost,
                salt    => $BcryptSalt,
            },
            $Pw
        );
        $CryptedPw = "BCRYPT:$Cost:$BcryptSalt:" . Crypt::Eksblowfish::Bcrypt::en_base64($Octets);
    }
    elsif ( $GetPw =~ m{\A [0-9a-f]{40} \z}xmsi ) {
        require Digest::SHA;
        my $SHAObject = Digest::SHA->new('sha1');
        $SHAObject->add($Pw);
        $CryptedPw = $SHAObject->hexdigest();
    }
    else {
        $CryptedPw = crypt( $Pw, $User );
    }
}
else {
    $Salt =~ s/^(..).*/$1/;
    $CryptedPw = crypt( $Pw, $Salt );
}

if ( defined $CryptedPw && $CryptedPw eq $GetPw ) {
    print "ok\n";
    exit 0;
}
refused();
